"""Opening, finding, listing and changing the status of cases, on DynamoDB.

Item layout in the cases table:
- ``CASE#<id> / CASE``: the case document; gsi1 = court+status, gsi2 = court (listing by
  opening time, newest first), both Queries, never a Scan.
- ``CASE#<id> / EVENT#<seq>``: the case's trail, one immutable item per change.
- ``CASENO#<case number>``, ``ACCOUNT#<account number>``: uniqueness and look-up items.
- ``COUNTER#ACCOUNT#<region><yy>``: the serial behind account numbers, per court and year.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.cases import identifiers
from chalicelib.cases.errors import (
    CaseNotFound,
    DuplicateCaseNumber,
    InvalidAccountNumber,
    InvalidCursor,
    StatusChangeRefused,
)
from chalicelib.cases.models import (
    ALLOWED_CHANGES,
    Case,
    CaseEvent,
    CaseStatus,
    ListQuery,
    OpenCase,
    Party,
    ReceivingAccount,
)
from chalicelib.clock import Clock, isoformat
from chalicelib.problems import ServiceUnavailable

OpenAccount = Callable[[str, str, str], object]  # (account number, case id, currency)


@dataclass(frozen=True)
class CasePage:
    cases: list[Case]
    cursor: str | None


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _digest(request: OpenCase) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CaseService:
    def __init__(self, client: Any, table: str, clock: Clock, open_account: OpenAccount) -> None:
        self._db = client
        self._table = table
        self._clock = clock
        self._open_account = open_account

    # --- reading -------------------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        item = self._db.get_item(
            TableName=self._table, Key={"pk": _s(f"CASE#{case_id}"), "sk": _s("CASE")}
        ).get("Item")
        if item is None:
            raise CaseNotFound(f"there is no case {case_id}")
        return Case.model_validate_json(item["doc"]["S"])

    def find_by_account_number(self, number: str) -> Case:
        """The case behind a typed case account number; a mistyped one is refused."""
        try:
            digits = identifiers.normalise_account_number(number)
        except ValueError as error:
            raise InvalidAccountNumber(str(error)) from error
        item = self._db.get_item(
            TableName=self._table, Key={"pk": _s(f"ACCOUNT#{digits}"), "sk": _s("ACCOUNT")}
        ).get("Item")
        if item is None:
            raise CaseNotFound("no case has this account number")
        return self.get(item["case_id"]["S"])

    def history(self, case_id: str) -> list[CaseEvent]:
        self.get(case_id)
        events: list[CaseEvent] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :event)",
            "ExpressionAttributeValues": {":pk": _s(f"CASE#{case_id}"), ":event": _s("EVENT#")},
        }
        while True:
            page = self._db.query(**kwargs)
            events += [CaseEvent.model_validate_json(i["doc"]["S"]) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return events
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list(self, query: ListQuery) -> CasePage:
        if query.status is None:
            index, key = "gsi2", f"COURT#{query.court}"
        else:
            index, key = "gsi1", f"COURT#{query.court}#STATUS#{query.status.value}"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"{index}pk = :key",
            "ExpressionAttributeValues": {":key": _s(key)},
            "ScanIndexForward": False,
            "Limit": query.limit,
        }
        if query.cursor:
            kwargs["ExclusiveStartKey"] = _decode_cursor(query.cursor, index, key)
        page = self._db.query(**kwargs)
        cases = [Case.model_validate_json(i["doc"]["S"]) for i in page["Items"]]
        last = page.get("LastEvaluatedKey")
        return CasePage(cases=cases, cursor=_encode_cursor(last) if last else None)

    # --- writing -------------------------------------------------------------------------

    def open(self, request: OpenCase, *, actor: str) -> tuple[Case, bool]:
        """Open a case and its account. Filing the same case again returns the case already
        open (``created`` False); another case under the same number is refused."""
        digest = _digest(request)
        existing = self._case_id_for_number(request.case_number)
        if existing is not None:
            return self._replayed(existing, digest), False
        now = self._clock.now()
        number = identifiers.parse_case_number(request.case_number)
        account = identifiers.make_account_number(
            request.court_code, number.year, self._next_serial(request.court_code, number.year)
        )
        case_id = "c" + uuid.uuid4().hex[:20]
        parties = [
            Party(
                party_id=f"p{index}",
                role=p.role,
                name=p.name,
                type=p.type,
                id_number=p.id_number.upper(),
                phone=p.phone,
                receiving_account=(
                    ReceivingAccount(
                        **p.receiving_account.model_dump(), confirmed_at=now, confirmed_by=actor
                    )
                    if p.receiving_account
                    else None
                ),
            )
            for index, p in enumerate(request.parties, start=1)
        ]
        case = Case(
            case_id=case_id,
            case_number=request.case_number,
            court_code=request.court_code,
            court_name=request.court_name,
            account_number=account,
            fund_types=request.fund_types,
            adjudicated_amount=request.adjudicated_amount,
            currency=request.currency,
            status=CaseStatus.OPEN,
            parties=parties,
            opened_at=now,
            opened_by=actor,
            updated_at=now,
            version=1,
            request_digest=digest,
        )
        event = CaseEvent(
            case_id=case_id,
            sequence=1,
            at=now,
            actor=actor,
            action="opened",
            details={"account_number": account, "status": CaseStatus.OPEN.value},
        )
        items = [
            self._put(self._case_item(case), new=True),
            self._put(self._event_item(event), new=True),
            self._put(
                {
                    "pk": _s(f"CASENO#{case.case_number}"),
                    "sk": _s("CASENO"),
                    "case_id": _s(case_id),
                },
                new=True,
            ),
            self._put(
                {"pk": _s(f"ACCOUNT#{account}"), "sk": _s("ACCOUNT"), "case_id": _s(case_id)},
                new=True,
            ),
        ]
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            winner = self._case_id_for_number(request.case_number)
            if winner is None:
                raise ServiceUnavailable("the case could not be saved; try again") from error
            return self._replayed(winner, digest), False
        self._open_account(account, case_id, case.currency)
        return case, True

    def change_status(self, case_id: str, status: CaseStatus, *, reason: str, actor: str) -> Case:
        case = self.get(case_id)
        if status not in ALLOWED_CHANGES[case.status]:
            raise StatusChangeRefused(
                f"a {case.status.value} case cannot become {status.value}",
                current_status=case.status.value,
            )
        now = self._clock.now()
        changed = case.model_copy(
            update={"status": status, "updated_at": now, "version": case.version + 1}
        )
        event = CaseEvent(
            case_id=case_id,
            sequence=changed.version,
            at=now,
            actor=actor,
            action="status_changed",
            reason=reason,
            details={"from": case.status.value, "to": status.value},
        )
        put_case = self._put(self._case_item(changed), new=False)
        put_case["Put"]["ConditionExpression"] = "version = :expected"
        put_case["Put"]["ExpressionAttributeValues"] = {":expected": {"N": str(case.version)}}
        try:
            self._db.transact_write_items(
                TransactItems=[put_case, self._put(self._event_item(event), new=True)]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise StatusChangeRefused(
                "the case was changed by someone else at the same moment; reload and retry"
            ) from error
        return changed

    # --- helpers -------------------------------------------------------------------------

    def _replayed(self, case_id: str, digest: str) -> Case:
        case = self.get(case_id)
        if case.request_digest != digest:
            raise DuplicateCaseNumber(
                f"case {case.case_number} is already open with other details",
                case_id=case.case_id,
            )
        # The first filing may have stopped before its account was opened; opening is idempotent.
        self._open_account(case.account_number, case.case_id, case.currency)
        return case

    def _case_id_for_number(self, case_number: str) -> str | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": _s(f"CASENO#{case_number}"), "sk": _s("CASENO")},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else str(item["case_id"]["S"])

    def _next_serial(self, court_code: str, year: int) -> int:
        region = identifiers.court_region_digits(court_code)
        answer = self._db.update_item(
            TableName=self._table,
            Key={"pk": _s(f"COUNTER#ACCOUNT#{region}{year % 100:02d}"), "sk": _s("COUNTER")},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["n"]["N"])

    def _put(self, item: dict[str, Any], *, new: bool) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if new:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}

    @staticmethod
    def _case_item(case: Case) -> dict[str, Any]:
        order = f"{isoformat(case.opened_at)}#{case.case_id}"
        return {
            "pk": _s(f"CASE#{case.case_id}"),
            "sk": _s("CASE"),
            "gsi1pk": _s(f"COURT#{case.court_code}#STATUS#{case.status.value}"),
            "gsi1sk": _s(order),
            "gsi2pk": _s(f"COURT#{case.court_code}"),
            "gsi2sk": _s(order),
            "version": {"N": str(case.version)},
            "doc": _s(case.model_dump_json()),
        }

    @staticmethod
    def _event_item(event: CaseEvent) -> dict[str, Any]:
        return {
            "pk": _s(f"CASE#{event.case_id}"),
            "sk": _s(f"EVENT#{event.sequence:06d}"),
            "doc": _s(event.model_dump_json()),
        }


def _encode_cursor(key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, index: str, partition: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor("the cursor is not one this list handed out") from error
    expected = {"pk", "sk", f"{index}pk", f"{index}sk"}
    if (
        not isinstance(plain, dict)
        or set(plain) != expected
        or not all(isinstance(v, str) for v in plain.values())
        or plain[f"{index}pk"] != partition
    ):
        raise InvalidCursor("the cursor belongs to another list or was altered")
    return {name: _s(value) for name, value in plain.items()}
