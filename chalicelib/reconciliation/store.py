"""Reconciliation days and their items in the oversight table.

    pk                      sk          what                    index (pk / sk)
    RECON#{currency}#{day}  RESULT      the day's result        gsi1 RECONDAYS#{currency} / {day}
    RECON#{currency}#{day}  ITEM#{id}   one difference and how finance resolved it
    RECON#{currency}#{day}  FEE#{txn}   a fee the rail took that day, booked as its transfer

A day's fees are items of their own, not a list in the result: a busy day has a fee per
charge, far more than one item may hold.

A re-run writes the result again (guarded by its run count, and never once the day is
closed); an item found again keeps its resolution, because an existing item is not rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from chalicelib.reconciliation.errors import DayChanged, DayNotFound, ItemNotFound
from chalicelib.reconciliation.models import (
    DayResult,
    DayStatus,
    FeeBooking,
    ItemStatus,
    ReconciliationItem,
)

CONDITION_FAILED = "ConditionalCheckFailedException"


def _pk(currency: str, day: date) -> str:
    return f"RECON#{currency}#{day.isoformat()}"


class ReconciliationStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def result(self, currency: str, day: date) -> DayResult | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(currency, day)}, "sk": {"S": "RESULT"}},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return DayResult.model_validate_json(item["doc"]["S"]) if item else None

    def save_result(self, result: DayResult, *, previous_runs: int) -> None:
        """Write the result of run number ``result.runs``; a rival run or a close in between
        fails the guard."""
        from botocore.exceptions import ClientError

        condition = "attribute_not_exists(pk)"
        values: dict[str, Any] = {}
        if previous_runs:
            condition = "runs = :previous AND #status <> :closed"
            values = {":previous": {"N": str(previous_runs)}, ":closed": {"S": "closed"}}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._result_item(result),
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
                **({"ExpressionAttributeNames": {"#status": "status"}} if values else {}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == CONDITION_FAILED:
                raise DayChanged(
                    f"{result.day} ({result.currency}) was run or closed meanwhile; read it again"
                ) from error
            raise

    def close(self, result: DayResult, *, runs: int) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._result_item(result),
                ConditionExpression="runs = :runs AND #status = :balanced",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":runs": {"N": str(runs)},
                    ":balanced": {"S": DayStatus.BALANCED.value},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == CONDITION_FAILED:
                raise DayChanged(
                    f"{result.day} ({result.currency}) changed meanwhile; read it again"
                ) from error
            raise

    def _result_item(self, result: DayResult) -> dict[str, Any]:
        return {
            "pk": {"S": _pk(result.currency, result.day)},
            "sk": {"S": "RESULT"},
            "status": {"S": result.status.value},
            "runs": {"N": str(result.runs)},
            "doc": {"S": result.model_dump_json()},
            "gsi1pk": {"S": f"RECONDAYS#{result.currency}"},
            "gsi1sk": {"S": result.day.isoformat()},
        }

    def days(self, currency: str, start: date, end: date, *, limit: int) -> list[DayResult]:
        answer = self._client.query(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk AND gsi1sk BETWEEN :start AND :end",
            ExpressionAttributeValues={
                ":pk": {"S": f"RECONDAYS#{currency}"},
                ":start": {"S": start.isoformat()},
                ":end": {"S": end.isoformat()},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [DayResult.model_validate_json(i["doc"]["S"]) for i in answer["Items"]]

    def add_items(self, items: list[ReconciliationItem]) -> None:
        """Record newly found differences; one found before keeps its record and resolution."""
        from botocore.exceptions import ClientError

        for item in items:
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=self._item(item),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != CONDITION_FAILED:
                    raise

    def items(self, currency: str, day: date) -> list[ReconciliationItem]:
        found: list[ReconciliationItem] = []
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :item)",
            "ExpressionAttributeValues": {
                ":pk": {"S": _pk(currency, day)},
                ":item": {"S": "ITEM#"},
            },
            "ConsistentRead": True,
        }
        while True:
            answer = self._client.query(**args)
            found += [
                ReconciliationItem.model_validate_json(i["doc"]["S"]) for i in answer["Items"]
            ]
            if "LastEvaluatedKey" not in answer:
                return found
            args["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def add_fees(self, currency: str, day: date, fees: list[FeeBooking]) -> None:
        """Record fees booked (up to 25; a re-run writes the same again)."""
        request: dict[str, Any] = {
            self._table: [
                {
                    "PutRequest": {
                        "Item": {
                            "pk": {"S": _pk(currency, day)},
                            "sk": {"S": f"FEE#{fee.rail_transaction}"},
                            "doc": {"S": fee.model_dump_json()},
                        }
                    }
                }
                for fee in fees
            ]
        }
        while request:
            request = self._client.batch_write_item(RequestItems=request).get("UnprocessedItems")

    def fees(self, currency: str, day: date) -> Iterator[FeeBooking]:
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :fee)",
            "ExpressionAttributeValues": {":pk": {"S": _pk(currency, day)}, ":fee": {"S": "FEE#"}},
            "ConsistentRead": True,
        }
        while True:
            answer = self._client.query(**args)
            for found in answer["Items"]:
                yield FeeBooking.model_validate_json(found["doc"]["S"])
            if "LastEvaluatedKey" not in answer:
                return
            args["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def item(self, currency: str, day: date, item_id: str) -> ReconciliationItem:
        answer = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(currency, day)}, "sk": {"S": f"ITEM#{item_id}"}},
            ConsistentRead=True,
        )
        if "Item" not in answer:
            raise ItemNotFound(f"no reconciliation item {item_id} on {day} ({currency})")
        return ReconciliationItem.model_validate_json(answer["Item"]["doc"]["S"])

    def resolve(self, item: ReconciliationItem) -> None:
        """Store the resolution, only if the item is still open (one resolution, never two)."""
        from botocore.exceptions import ClientError

        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._item(item),
                ConditionExpression="#status = :open",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":open": {"S": ItemStatus.OPEN.value}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == CONDITION_FAILED:
                raise DayChanged(f"item {item.item_id} was resolved meanwhile") from error
            raise

    def claim_across(self, there: ReconciliationItem, here: ReconciliationItem) -> None:
        """Resolve another day's difference with the running day's record of the pair, both or
        neither: the other side only while it is still open (one movement answers one other),
        the record only if the running day has none yet."""
        from botocore.exceptions import ClientError

        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._item(there),
                            "ConditionExpression": "#status = :open",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {":open": {"S": ItemStatus.OPEN.value}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._item(here),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise DayChanged(
                    f"item {there.item_id} of {there.day} was resolved meanwhile"
                ) from error
            raise

    def _item(self, item: ReconciliationItem) -> dict[str, Any]:
        return {
            "pk": {"S": _pk(item.currency, item.day)},
            "sk": {"S": f"ITEM#{item.item_id}"},
            "status": {"S": item.status.value},
            "doc": {"S": item.model_dump_json()},
        }

    def require_result(self, currency: str, day: date) -> DayResult:
        result = self.result(currency, day)
        if result is None:
            raise DayNotFound(f"{day} ({currency}) has not been reconciled yet")
        return result
