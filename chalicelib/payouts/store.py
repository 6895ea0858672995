"""Where disbursements, claim links and claim rate counters are kept (the payouts table).

| pk                    | sk          | what                                                    |
| --------------------- | ----------- | ------------------------------------------------------- |
| ``DISB#{id}``         | ``DISB``    | the disbursement (JSON in ``doc``), ``version`` guards it |
| ``CASE#{case id}``    | ``DISB#{id}`` | membership, so the case page lists its disbursements  |
| ``CLAIM#{sha256}``    | ``CLAIM``   | a claim link: the code's hash -> disbursement, attempt  |
| ``RATE#{who}#{window}`` | ``RATE``  | failed claim lookups from one client in one window      |

The approvals of a disbursement, its deferrals and its staff releases live in the approvals
table; every decision is committed in one TransactWriteItems with the disbursement's change.

gsi1 is the staff queue: ``QUEUE#{court}#{state}`` by proposal time. gsi2 is the sweeper's
work list: ``DUE`` by the time a disbursement needs a look (a step left half-way, a deferral
ending, a reservation running out); settled disbursements leave it. The claim code itself is
never stored, only its SHA-256, so a copy of the table cannot be used to claim money.

Every state change is one conditional write on ``version``: a rival's change between our read
and our write fails the condition instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.clock import isoformat
from chalicelib.payouts.errors import ChangedMeanwhile
from chalicelib.payouts.models import Disbursement, DisbursementState

DISB_SK = "DISB"
SWEEP_PARTITION = "DUE"


class ExtraItemRefused(Exception):
    """An item committed beside a disbursement change (a grant, a claim) failed its condition."""

    def __init__(self, index: int) -> None:
        super().__init__(f"extra item {index} failed its condition")
        self.index = index


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def disbursement_key(disbursement_id: str) -> dict[str, Any]:
    return {"pk": _s(f"DISB#{disbursement_id}"), "sk": _s(DISB_SK)}


class PayoutStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self.table = table

    # -- disbursements -----------------------------------------------------------------------

    def _item(self, d: Disbursement, due: datetime | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            **disbursement_key(d.disbursement_id),
            "doc": _s(d.model_dump_json()),
            "version": {"N": str(d.version)},
            "state": _s(d.state.value),
            "gsi1pk": _s(f"QUEUE#{d.court_code}#{d.state.value}"),
            "gsi1sk": _s(f"{isoformat(d.proposed_at)}#{d.disbursement_id}"),
        }
        if due is not None:
            item["gsi2pk"] = _s(SWEEP_PARTITION)
            item["gsi2sk"] = _s(f"{isoformat(due)}#{d.disbursement_id}")
        return item

    def created_items(self, d: Disbursement) -> list[dict[str, Any]]:
        """The new disbursement and its case membership, as transaction items (committed
        with the approval the proposal opens)."""
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": self._item(d, None),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": _s(f"CASE#{d.case_id}"),
                        "sk": _s(f"DISB#{d.disbursement_id}"),
                        "disbursement_id": _s(d.disbursement_id),
                    },
                }
            },
        ]

    def put_item(
        self, d: Disbursement, *, expected_version: int, due: datetime | None
    ) -> dict[str, Any]:
        """``d`` written only if the stored one is still at ``expected_version``."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": self._item(d, due),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        }

    def save(
        self,
        d: Disbursement,
        *,
        expected_version: int,
        due: datetime | None = None,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        """Write ``d`` if the stored one is still at ``expected_version``, with ``extra``
        items (a grant marked used, a claim link) in the same transaction."""
        put = self.put_item(d, expected_version=expected_version, due=due)["Put"]
        if not extra:
            try:
                self._client.put_item(**put)
            except self._client.exceptions.ConditionalCheckFailedException as error:
                raise ChangedMeanwhile(
                    "the disbursement was changed meanwhile; reload it",
                    disbursement_id=d.disbursement_id,
                ) from error
            return
        self._transact([{"Put": put}, *extra], disbursement_id=d.disbursement_id)

    def commit_items(self, items: list[dict[str, Any]]) -> None:
        """One TransactWriteItems as given (a disbursement's change with items of other tables,
        such as a ledger posting); its caller reads a cancellation itself."""
        self._client.transact_write_items(TransactItems=items)

    def _transact(self, items: list[dict[str, Any]], *, disbursement_id: str = "") -> None:
        try:
            self._client.transact_write_items(TransactItems=items)
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            codes = [r.get("Code") for r in reasons]
            if codes and codes[0] == "ConditionalCheckFailed":
                raise ChangedMeanwhile(
                    "the disbursement was changed meanwhile; reload it",
                    disbursement_id=disbursement_id,
                ) from error
            for index, code in enumerate(codes[1:], start=1):
                if code == "ConditionalCheckFailed":
                    raise ExtraItemRefused(index) from error
            raise

    def get(self, disbursement_id: str) -> Disbursement | None:
        found = self._client.get_item(
            TableName=self.table, Key=disbursement_key(disbursement_id), ConsistentRead=True
        ).get("Item")
        return None if found is None else Disbursement.model_validate_json(found["doc"]["S"])

    def of_case(self, case_id: str) -> list[Disbursement]:
        ids: list[str] = []
        query = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(f"CASE#{case_id}"), ":prefix": _s("DISB#")},
        }
        for page in self._client.get_paginator("query").paginate(**query):
            ids += [item["disbursement_id"]["S"] for item in page["Items"]]
        return self._batch_get(ids)

    def _batch_get(self, ids: list[str]) -> list[Disbursement]:
        found: list[Disbursement] = []
        for start in range(0, len(ids), 100):
            keys = [disbursement_key(i) for i in ids[start : start + 100]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                found += [
                    Disbursement.model_validate_json(item["doc"]["S"])
                    for item in answer["Responses"].get(self.table, [])
                ]
                request = answer.get("UnprocessedKeys") or {}
        return sorted(found, key=lambda d: (d.proposed_at, d.disbursement_id))

    def queue(self, court: str, state: DisbursementState, *, limit: int) -> list[Disbursement]:
        answer = self._client.query(
            TableName=self.table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"QUEUE#{court}#{state.value}")},
            Limit=limit,
        )
        return [Disbursement.model_validate_json(i["doc"]["S"]) for i in answer["Items"]]

    def due(self, moment: datetime) -> Iterator[str]:
        """Ids of disbursements whose next look is due at or before ``moment``."""
        query = {
            "TableName": self.table,
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :pk AND gsi2sk <= :until",
            "ExpressionAttributeValues": {
                ":pk": _s(SWEEP_PARTITION),
                ":until": _s(isoformat(moment) + "#~"),
            },
        }
        for page in self._client.get_paginator("query").paginate(**query):
            for item in page["Items"]:
                yield item["pk"]["S"].removeprefix("DISB#")

    # -- claim links -------------------------------------------------------------------------

    def claim_item(
        self, code_hash: str, disbursement_id: str, attempt: int, expires_at: datetime
    ) -> dict[str, Any]:
        """A new claim link, as a transaction item written with the disbursement's change."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": _s(f"CLAIM#{code_hash}"),
                    "sk": _s("CLAIM"),
                    "disbursement_id": _s(disbursement_id),
                    "attempt": {"N": str(attempt)},
                    "expires_at": _s(isoformat(expires_at)),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def claim(self, code_hash: str) -> tuple[str, int, str, bool] | None:
        """(disbursement id, attempt, expiry, used) of a claim link, if it exists."""
        found = self._client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"CLAIM#{code_hash}"), "sk": _s("CLAIM")},
            ConsistentRead=True,
        ).get("Item")
        if found is None:
            return None
        return (
            found["disbursement_id"]["S"],
            int(found["attempt"]["N"]),
            found["expires_at"]["S"],
            "used_at" in found,
        )

    def claim_used_item(self, code_hash: str, now: datetime) -> dict[str, Any]:
        """Marks a claim link used; fails if it was used already (one claim, one payout)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": _s(f"CLAIM#{code_hash}"), "sk": _s("CLAIM")},
                "UpdateExpression": "SET used_at = :now",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(used_at)",
                "ExpressionAttributeValues": {":now": _s(isoformat(now))},
            }
        }

    def count_failure(self, who: str, window: str) -> int:
        """Count one failed claim lookup from ``who`` in ``window``; return the count."""
        answer = self._client.update_item(
            TableName=self.table,
            Key={"pk": _s(f"RATE#{who}#{window}"), "sk": _s("RATE")},
            UpdateExpression="ADD attempts :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["attempts"]["N"])

    def failures(self, who: str, window: str) -> int:
        found = self._client.get_item(
            TableName=self.table, Key={"pk": _s(f"RATE#{who}#{window}"), "sk": _s("RATE")}
        ).get("Item")
        return 0 if found is None else int(found["attempts"]["N"])
