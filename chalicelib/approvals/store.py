"""Approvals' items in the approvals table (generic pk/sk, sparse gsi1/gsi2).

    pk              sk        what                index (pk / sk)
    APPROVAL#{id}   APPROVAL  an approval and     gsi1 WAIT#{court}#{role} / {since}#{id}
                              its history              (only while a step waits)
                                                  gsi2 ASKED#{subject} / {opened}#{id}

The approval is stored whole as JSON in ``doc``, with ``version`` beside it: every change is
one conditional Put on the version it was computed from, so two approvers racing for a step
cannot both win, and the Put can join the owner's own writes in one TransactWriteItems.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from chalicelib.approvals.errors import ApprovalChanged, OwnerItemRefused
from chalicelib.approvals.models import Approval, ApprovalStatus
from chalicelib.clock import isoformat

CONDITION_FAILED = "ConditionalCheckFailed"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def approval_key(approval_id: str) -> dict[str, Any]:
    return {"pk": _s(f"APPROVAL#{approval_id}"), "sk": _s("APPROVAL")}


def queue_key(court: str, role: str) -> str:
    return f"WAIT#{court}#{role}"


class ApprovalStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def get(self, approval_id: str) -> Approval | None:
        found = self._db.get_item(
            TableName=self._table, Key=approval_key(approval_id), ConsistentRead=True
        ).get("Item")
        return None if found is None else Approval.model_validate_json(found["doc"]["S"])

    def put_item(self, approval: Approval, *, seen_version: int | None) -> dict[str, Any]:
        """The TransactWriteItems entry that stores ``approval`` if nobody changed it since
        ``seen_version`` (``None``: only if it does not exist yet)."""
        item: dict[str, Any] = {
            **approval_key(approval.id),
            "doc": _s(approval.model_dump_json()),
            "version": {"N": str(approval.version)},
            "status": _s(approval.status.value),
            "gsi2pk": _s(f"ASKED#{approval.requested_by_subject}"),
            "gsi2sk": _s(f"{isoformat(approval.opened_at)}#{approval.id}"),
        }
        step = approval.current_step
        if approval.status == ApprovalStatus.PENDING and step is not None:
            item["gsi1pk"] = _s(queue_key(approval.court, step.role.value))
            item["gsi1sk"] = _s(f"{isoformat(approval.waiting_since)}#{approval.id}")
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if seen_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :seen"
            put["ExpressionAttributeValues"] = {":seen": {"N": str(seen_version)}}
        return {"Put": put}

    def commit(self, writes: Sequence[dict[str, Any]], *, approval_at: int | None = 0) -> None:
        """One TransactWriteItems. ``writes[approval_at]`` is the approval's own item (if any):
        its failed condition is ``ApprovalChanged``; another failed item is ``OwnerItemRefused``."""
        if len(writes) == 1 and approval_at == 0:
            put = writes[0]["Put"]
            try:
                self._db.put_item(**put)
            except self._db.exceptions.ConditionalCheckFailedException as error:
                raise ApprovalChanged("the approval changed since it was read") from error
            return
        try:
            self._db.transact_write_items(TransactItems=list(writes))
        except self._db.exceptions.TransactionCanceledException as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if approval_at is not None and reasons[approval_at : approval_at + 1] == [
                CONDITION_FAILED
            ]:
                raise ApprovalChanged("the approval changed since it was read") from error
            others = [r for i, r in enumerate(reasons) if i != approval_at]
            if CONDITION_FAILED in others:
                raise OwnerItemRefused(
                    "the item changed while it was being decided", reasons=others
                ) from error
            raise

    def waiting(self, court: str, role: str, *, limit: int) -> list[Approval]:
        return self._query("gsi1", queue_key(court, role), limit=limit)

    def waiting_pages(self, court: str, role: str, *, page_size: int) -> Iterator[list[Approval]]:
        """The steps waiting for ``role`` at ``court``, longest waiting first, a page at a time,
        for a reader that filters them and reads on only while it needs more."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": _s(queue_key(court, role))},
            "Limit": page_size,
        }
        while True:
            page = self._db.query(**request)
            yield [Approval.model_validate_json(i["doc"]["S"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def asked_by(self, subject: str, *, limit: int) -> list[Approval]:
        return self._query("gsi2", f"ASKED#{subject}", limit=limit, newest_first=True)

    def _query(
        self, index: str, partition: str, *, limit: int, newest_first: bool = False
    ) -> list[Approval]:
        found: list[Approval] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"{index}pk = :p",
            "ExpressionAttributeValues": {":p": _s(partition)},
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        while len(found) < limit:
            page = self._db.query(**request)
            found += [Approval.model_validate_json(i["doc"]["S"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]
