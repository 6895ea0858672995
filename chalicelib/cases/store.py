"""The cases table: its item layout, its reads and its transactions, nothing else.

Item layout in the cases table:
- ``CASE#<id> / CASE``: the case document; gsi1 = court+status, gsi2 = court (listing by
  opening time, newest first), both Queries, never a Scan.
- ``CASE#<id> / EVENT#<seq>``: the case's trail, one immutable item per change.
- ``CASENO#<case number>``, ``ACCOUNT#<account number>``: uniqueness and look-up items.
- ``COUNTER#ACCOUNT#<region><yy>``: the serial behind account numbers, per court and year.
- ``CONCLUDED#<id> / CONCLUDED``: a concluded case still to be followed up (its money left is
  drafted back to the payers); gsi1 = ``CONCLUDEDQ`` until followed, written in the conclusion's
  own transaction (the policy grants no DeleteItem, so following it up removes the index keys).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import dynamo
from chalicelib.cases.errors import InvalidCursor
from chalicelib.cases.models import Case, CaseEvent, CaseStatus
from chalicelib.clock import isoformat

CONCLUDED_QUEUE = "CONCLUDEDQ"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class CasesStore:
    """Reads and writes case items through the low-level DynamoDB client."""

    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # -- reads -------------------------------------------------------------------------------

    def case(self, case_id: str) -> Case | None:
        item = self._db.get_item(
            TableName=self._table, Key={"pk": _s(f"CASE#{case_id}"), "sk": _s("CASE")}
        ).get("Item")
        return None if item is None else Case.model_validate_json(item["doc"]["S"])

    def case_read(self, case_id: str) -> tuple[str, dict[str, Any]]:
        """The table and key of the case's document, for a batch read made by another
        capability with its own items; ``case_of`` reads the item it returns."""
        return self._table, {"pk": _s(f"CASE#{case_id}"), "sk": _s("CASE")}

    @staticmethod
    def case_of(item: dict[str, Any]) -> Case:
        return Case.model_validate_json(item["doc"]["S"])

    def case_id_by_account(self, digits: str) -> str | None:
        item = self._db.get_item(
            TableName=self._table, Key={"pk": _s(f"ACCOUNT#{digits}"), "sk": _s("ACCOUNT")}
        ).get("Item")
        return None if item is None else str(item["case_id"]["S"])

    def case_id_by_number(self, case_number: str) -> str | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": _s(f"CASENO#{case_number}"), "sk": _s("CASENO")},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else str(item["case_id"]["S"])

    def events(self, case_id: str) -> list[CaseEvent]:
        """The case's trail, oldest first, every page of it."""
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

    def page(
        self, court: str, status: CaseStatus | None, *, limit: int, cursor: str | None
    ) -> tuple[list[Case], str | None]:
        """A court's cases (in one status, or all), newest first, one page from ``cursor``."""
        if status is None:
            index, key = "gsi2", f"COURT#{court}"
        else:
            index, key = "gsi1", f"COURT#{court}#STATUS#{status.value}"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"{index}pk = :key",
            "ExpressionAttributeValues": {":key": _s(key)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = _start_key(cursor, index, key)
        page = self._db.query(**kwargs)
        cases = [Case.model_validate_json(i["doc"]["S"]) for i in page["Items"]]
        return cases, dynamo.encode_cursor(page.get("LastEvaluatedKey"))

    # -- writes ------------------------------------------------------------------------------

    def next_serial(self, counter: str) -> int:
        """The next number of a counter (``<region><yy>``), starting at 1; never repeats."""
        answer = self._db.update_item(
            TableName=self._table,
            Key={"pk": _s(f"COUNTER#ACCOUNT#{counter}"), "sk": _s("COUNTER")},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["n"]["N"])

    def create(self, case: Case, event: CaseEvent) -> bool:
        """Write a new case, its first event and its number and account look-ups in one
        transaction; False (nothing written) if the number or account is already taken."""
        items = [
            self._put(self._case_item(case), new=True),
            self._put(self._event_item(event), new=True),
            self._put(
                {
                    "pk": _s(f"CASENO#{case.case_number}"),
                    "sk": _s("CASENO"),
                    "case_id": _s(case.case_id),
                },
                new=True,
            ),
            self._put(
                {
                    "pk": _s(f"ACCOUNT#{case.account_number}"),
                    "sk": _s("ACCOUNT"),
                    "case_id": _s(case.case_id),
                },
                new=True,
            ),
        ]
        return self._commit(items)

    def save_changed(
        self, changed: Case, event: CaseEvent, *, expected_version: int, concluded: bool = False
    ) -> bool:
        """Replace the case if it is still at ``expected_version``, with the event that says
        why (and, when this change ``concluded`` it, its place in the queue of concluded cases
        to follow up); False (nothing written) if someone changed it first."""
        items = self.changed_items(changed, event, expected_version=expected_version)
        if concluded:
            order = f"{isoformat(changed.updated_at)}#{changed.case_id}"
            follow_up = {
                "pk": _s(f"CONCLUDED#{changed.case_id}"),
                "sk": _s("CONCLUDED"),
                "case_id": _s(changed.case_id),
                "gsi1pk": _s(CONCLUDED_QUEUE),
                "gsi1sk": _s(order),
            }
            items.append(self._put(follow_up, new=True))
        return self._commit(items)

    def concluded_to_follow(self, *, limit: int) -> list[str]:
        """Ids of concluded cases not yet followed up, longest waiting first."""
        page = self._db.query(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :queue",
            ExpressionAttributeValues={":queue": _s(CONCLUDED_QUEUE)},
            Limit=limit,
        )
        return [str(item["case_id"]["S"]) for item in page["Items"]]

    def concluded_later(self, case_id: str, *, at: datetime) -> None:
        """The case moves to the back of the queue, if it is still in it."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": _s(f"CONCLUDED#{case_id}"), "sk": _s("CONCLUDED")},
                UpdateExpression="SET gsi1sk = :order",
                ConditionExpression="attribute_exists(gsi1pk)",
                ExpressionAttributeValues={":order": _s(f"{isoformat(at)}#{case_id}")},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def concluded_followed(self, case_id: str) -> None:
        """The concluded case leaves the queue; its item stays as the record that it did."""
        self._db.update_item(
            TableName=self._table,
            Key={"pk": _s(f"CONCLUDED#{case_id}"), "sk": _s("CONCLUDED")},
            UpdateExpression="REMOVE gsi1pk, gsi1sk",
        )

    def changed_items(
        self, changed: Case, event: CaseEvent, *, expected_version: int
    ) -> list[dict[str, Any]]:
        """The TransactWriteItems entries of ``save_changed``, for a change committed together
        with an approval step: the case (if still at ``expected_version``), then its event."""
        put_case = self._put(self._case_item(changed), new=False)
        put_case["Put"]["ConditionExpression"] = "version = :expected"
        put_case["Put"]["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        return [put_case, self._put(self._event_item(event), new=True)]

    def _commit(self, items: list[dict[str, Any]]) -> bool:
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as error:
            if dynamo.cancellation_reasons(error) is None:
                raise
            return False
        return True

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


def _start_key(cursor: str, index: str, partition: str) -> dict[str, Any]:
    try:
        return dynamo.decode_cursor(
            cursor,
            names={"pk", "sk", f"{index}pk", f"{index}sk"},
            belongs=lambda key: key[f"{index}pk"] == partition,
        )
    except dynamo.CursorRefused as refused:
        if refused.malformed:
            raise InvalidCursor("the cursor is not one this list handed out") from refused
        raise InvalidCursor("the cursor belongs to another list or was altered") from refused
