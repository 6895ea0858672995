"""Refunds' items in the refunds table (generic pk/sk, sparse gsi1/gsi2).

    pk                       sk      what                   index (pk / sk)
    REFUND#{id}              REFUND  a refund, its          gsi1 STATE#{state} / {court}#{at}#{id}
                                     attempts and history   gsi2 SOURCE#{kind}#{ref} / {at}#{id}
    HELD#{kind}#{reference}  HELD    fen held by the refunds of one payment (approved, in
                                     flight or paid): never more than the payment brought in
    EVENT#{rail}#{event id}  EVENT   a refund webhook: recorded before acting
    BANKREF#{bank ref}       BANKREF the refund a bank transfer pays back (written once)
    VOID#{id}                VOID    a cancelled refund     gsi1 VOIDQ / {at}#{id}
                                     whose reservation      (leaves gsi1 once voided; kept
                                     waits to be voided     as a record)

A refund is stored whole as JSON in ``doc`` with ``version`` beside it; every change is one
conditional Put on the version it was computed from. The held amount changes in the same
transaction as the refund state that holds or releases it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import isoformat
from chalicelib.problems import ProblemError
from chalicelib.refunds.errors import BankReferenceUsed, RefundChanged, RefundExceedsPayment
from chalicelib.refunds.models import Refund, RefundSource, RefundState

CONDITION_FAILED = "ConditionalCheckFailed"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def refund_key(refund_id: str) -> dict[str, Any]:
    return {"pk": _s(f"REFUND#{refund_id}"), "sk": _s("REFUND")}


def _held_key(source: RefundSource) -> dict[str, Any]:
    return {"pk": _s(f"HELD#{source.kind.value}#{source.reference}"), "sk": _s("HELD")}


@dataclass(frozen=True)
class Write:
    """One TransactWriteItems entry and the error its failed condition means."""

    item: dict[str, Any]
    refused: ProblemError


class RefundStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # -- refunds -----------------------------------------------------------------------------

    def get(self, refund_id: str) -> Refund | None:
        found = self._get(refund_key(refund_id))
        return None if found is None else Refund.model_validate_json(found["doc"]["S"])

    def put(self, refund: Refund, *, seen_version: int | None) -> Write:
        item: dict[str, Any] = {
            **refund_key(refund.refund_id),
            "doc": _s(refund.model_dump_json()),
            "version": _n(refund.version),
            "state": _s(refund.state.value),
            "gsi1pk": _s(f"STATE#{refund.state.value}"),
            "gsi1sk": _s(
                f"{refund.source.court}#{isoformat(refund.updated_at)}#{refund.refund_id}"
            ),
            "gsi2pk": _s(f"SOURCE#{refund.source.kind.value}#{refund.source.reference}"),
            "gsi2sk": _s(f"{isoformat(refund.created_at)}#{refund.refund_id}"),
        }
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if seen_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
            refused = RefundChanged(f"refund {refund.refund_id} already exists")
        else:
            put["ConditionExpression"] = "version = :seen"
            put["ExpressionAttributeValues"] = {":seen": _n(seen_version)}
            refused = RefundChanged(f"refund {refund.refund_id} changed since it was read")
        return Write({"Put": put}, refused)

    def by_state(self, state: RefundState, court: str, *, limit: int) -> list[Refund]:
        return self._query(
            "gsi1",
            f"STATE#{state.value}",
            limit=limit,
            prefix=f"{court}#",
        )

    def all_in_state(self, state: RefundState, *, limit: int) -> list[Refund]:
        """Every court's refunds in one state, oldest first: for the sweeper."""
        return self._query("gsi1", f"STATE#{state.value}", limit=limit)

    def of_source(self, kind: str, reference: str, *, limit: int = 50) -> list[Refund]:
        return self._query("gsi2", f"SOURCE#{kind}#{reference}", limit=limit)

    # -- what one payment's refunds hold ------------------------------------------------------

    def held(self, source: RefundSource) -> int:
        found = self._get(_held_key(source))
        return 0 if found is None else int(found["held"]["N"])

    def hold(self, source: RefundSource, amount: int) -> Write:
        """Add ``amount`` to what the payment's refunds hold, only if it stays within what
        the payment brought in."""
        update = {
            "TableName": self._table,
            "Key": _held_key(source),
            "UpdateExpression": "ADD held :amount",
            "ConditionExpression": "attribute_not_exists(held) OR held <= :room",
            "ExpressionAttributeValues": {":amount": _n(amount), ":room": _n(source.paid - amount)},
        }
        return Write(
            {"Update": update},
            RefundExceedsPayment(
                f"refunds of {source.reference} would exceed the {source.paid} fen it brought in"
            ),
        )

    def release(self, source: RefundSource, amount: int) -> Write:
        update = {
            "TableName": self._table,
            "Key": _held_key(source),
            "UpdateExpression": "ADD held :minus",
            "ConditionExpression": "held >= :amount",
            "ExpressionAttributeValues": {":minus": _n(-amount), ":amount": _n(amount)},
        }
        return Write({"Update": update}, RefundChanged("the held amount changed; reload"))

    # -- counter cash back by bank ------------------------------------------------------------

    def bank_reference(self, bank_reference: str, refund_id: str) -> Write:
        """Written with the recorded bank transfer: one bank transfer pays back one refund."""
        put = {
            "TableName": self._table,
            "Item": {
                "pk": _s(f"BANKREF#{bank_reference}"),
                "sk": _s("BANKREF"),
                "refund_id": _s(refund_id),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        return Write(
            {"Put": put},
            BankReferenceUsed(f"bank transfer {bank_reference} already pays back another refund"),
        )

    # -- reservations a cancellation releases ------------------------------------------------

    def queue_void(self, refund: Refund) -> Write:
        """Written with a cancellation: its reservation is still to be voided."""
        item = {
            "pk": _s(f"VOID#{refund.refund_id}"),
            "sk": _s("VOID"),
            "doc": _s(refund.model_dump_json()),
            "gsi1pk": _s("VOIDQ"),
            "gsi1sk": _s(f"{isoformat(refund.updated_at)}#{refund.refund_id}"),
        }
        put = {"TableName": self._table, "Item": item}
        return Write({"Put": put}, RefundChanged("the cancellation is queued already"))

    def voids_due(self, *, limit: int) -> list[Refund]:
        return self._query("gsi1", "VOIDQ", limit=limit)

    def void_done(self, refund_id: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key={"pk": _s(f"VOID#{refund_id}"), "sk": _s("VOID")},
            UpdateExpression="REMOVE gsi1pk, gsi1sk",
        )

    # -- webhook events ----------------------------------------------------------------------

    def record_event(self, rail: str, event_id: str, event_type: str, at: str) -> bool:
        """Record an event before acting; False if it was recorded and finished before. A
        delivery again of a finished event is answered from one read, with no write."""
        key = {"pk": _s(f"EVENT#{rail}#{event_id}"), "sk": _s("EVENT")}
        seen = self._get(key)
        if seen is not None and seen.get("done") == _s("yes"):
            return False
        try:
            self._db.put_item(
                TableName=self._table,
                Item={**key, "type": _s(event_type), "received": _s(at), "done": _s("no")},
                ConditionExpression="attribute_not_exists(pk) OR done = :no",
                ExpressionAttributeValues={":no": _s("no")},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish_event(self, rail: str, event_id: str, outcome: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key={"pk": _s(f"EVENT#{rail}#{event_id}"), "sk": _s("EVENT")},
            UpdateExpression="SET done = :yes, outcome = :outcome",
            ExpressionAttributeValues={":yes": _s("yes"), ":outcome": _s(outcome)},
        )

    # -- plumbing ----------------------------------------------------------------------------

    def commit(self, writes: Sequence[Write]) -> None:
        """One write, or one TransactWriteItems; a failed condition raises the error its write
        names, and nothing is stored."""
        if len(writes) == 1 and "Put" in writes[0].item:
            try:
                self._db.put_item(**writes[0].item["Put"])
            except self._db.exceptions.ConditionalCheckFailedException as error:
                raise writes[0].refused from error
            return
        try:
            self._db.transact_write_items(TransactItems=[w.item for w in writes])
        except self._db.exceptions.TransactionCanceledException as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            raise_for(reasons, writes, error)
            raise

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._db.get_item(
            TableName=self._table, Key=key, ConsistentRead=True
        ).get("Item")
        return found

    def _query(
        self, index: str, partition: str, *, limit: int, prefix: str | None = None
    ) -> list[Refund]:
        condition = f"{index}pk = :p"
        values: dict[str, Any] = {":p": _s(partition)}
        if prefix is not None:
            condition += f" AND begins_with({index}sk, :prefix)"
            values[":prefix"] = _s(prefix)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        found: list[Refund] = []
        while len(found) < limit:
            page = self._db.query(**request)
            found += [Refund.model_validate_json(i["doc"]["S"]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]


def raise_for(reasons: Sequence[str | None], writes: Sequence[Write], cause: Exception) -> None:
    """Raise the error of the first write whose condition failed (if any)."""
    for reason, write in zip(reasons, writes, strict=False):
        if reason == CONDITION_FAILED:
            raise write.refused from cause
