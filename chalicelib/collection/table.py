"""The collection table's layout and its plumbing, shared by the two classes that read and
write it: ``queues.CollectionQueues`` (the queues and marks) and ``store.CollectionStore`` (the
payments and their settlement, which builds on the queues).

    pk                        sk        what                        index (pk / sk)
    PAY#{payment_id}          PAY       a payment                   gsi1 CASEPAY#{case} / {at}#{id}
    CASE#{case_id}            STANDING  paid so far, versioned
    CASE#{case_id}            SURPLUS   the draft refund            gsi2 SURPLUS#draft / {at}#{case}
    RECEIPTNO#{court}#{year}  SEQ       the court's gapless receipt counter
    EVENT#{rail}#{event_id}   EVENT     a webhook acted on, with its outcome (written once)
    EVENT#{rail}#{key}        EVENT     a webhook of the wrong shape
                                        gsi1 EVENTQ#malformed / {at}#{key}
    UNIDENTIFIED#{reference}  ITEM      不明款 to be claimed     gsi1 CLAIMQ#{status} / {at}#{ref}
    REVIEW#{reference}        ITEM      a payment not postable      gsi1 REVIEWQ#open / {at}#{ref}
    NOTICE#{key}              NOTICE    a notification owed         gsi2 NOTICE#{status} / {at}#{k}
    COUNTERCASH#{transfer}    COUNTED   counter cash counted toward its case (written once)
    SWEEP#{rail}              MARK      when the last complete sweep started
    SWEEPRETRY#{rail}         {ref}     a payment to sweep again    gsi1 RETRYQ#{rail} / {at}#{ref}
                                        (it leaves gsi1 once settled; the policy has no DeleteItem)


Each model is stored whole as JSON in ``doc``; the attributes that conditions and indexes read
(``status``, ``version``, ``next``, ``state``) sit beside it. Items and keys are built as plain
values and turned into DynamoDB's attribute values by the shared codec (``chalicelib.dynamo``)
where they are sent, and read back through it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from chalicelib.dynamo import from_item, to_item
from chalicelib.retry import Backoff

M = TypeVar("M", bound=BaseModel)


def payment_key(payment_id: str) -> dict[str, Any]:
    return {"pk": f"PAY#{payment_id}", "sk": "PAY"}


def standing_key(case_id: str) -> dict[str, Any]:
    return {"pk": f"CASE#{case_id}", "sk": "STANDING"}


def receipt_key(court_code: str, year: int) -> dict[str, Any]:
    return {"pk": f"RECEIPTNO#{court_code}#{year}", "sk": "SEQ"}


def event_key(rail: str, event_id: str) -> dict[str, Any]:
    return {"pk": f"EVENT#{rail}#{event_id}", "sk": "EVENT"}


def unidentified_key(reference: str) -> dict[str, Any]:
    return {"pk": f"UNIDENTIFIED#{reference}", "sk": "ITEM"}


def sweep_key(rail: str) -> dict[str, Any]:
    return {"pk": f"SWEEP#{rail}", "sk": "MARK"}


def sweep_retry_key(rail: str, reference: str) -> dict[str, Any]:
    return {"pk": f"SWEEPRETRY#{rail}", "sk": reference}


def notice_key(key: str) -> dict[str, Any]:
    return {"pk": f"NOTICE#{key}", "sk": "NOTICE"}


def counter_cash_key(transfer_id: str) -> dict[str, Any]:
    return {"pk": f"COUNTERCASH#{transfer_id}", "sk": "COUNTED"}


class CollectionTable:
    """The table and the reads and conditional writes every part of collection's storage uses."""

    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table
        self._backoff = Backoff(base=0.02, cap=1.0)  # unprocessed keys: the table is throttling

    # -- plumbing ----------------------------------------------------------------------------

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """The item under ``key``, read consistently, as plain values."""
        item = self._db.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True)
        return from_item(item["Item"]) if "Item" in item else None

    def _query_index(
        self, index: str, partition: str, model: type[M], *, limit: int, oldest_first: bool = False
    ) -> list[M]:
        page = self._db.query(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression=f"{index}pk = :pk",
            ExpressionAttributeValues=to_item({":pk": partition}),
            ScanIndexForward=oldest_first,
            Limit=limit,
        )
        return [model.model_validate_json(from_item(i)["doc"]) for i in page["Items"]]

    def _put(self, item: dict[str, Any], condition: str, values: dict[str, Any]) -> bool:
        try:
            self._db.put_item(**self._conditional_put(item, condition, values)["Put"])
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _conditional_put(
        self, item: dict[str, Any], condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        names = {f"#{n}": n for n in ("status", "version", "next", "state") if f"#{n}" in condition}
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_item(item),
            "ConditionExpression": condition,
        }
        if names:
            put["ExpressionAttributeNames"] = names
        if values:
            put["ExpressionAttributeValues"] = to_item(values)
        return {"Put": put}
