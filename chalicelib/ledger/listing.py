"""Whole-ledger reads for audits and exports: every account, every transfer by month, an
account's entries, in bounded pages that resume from an opaque position.

Each read is a paginated Query on gsi1 or the table (never a Scan), so an audit can run a page
per request or a page per loop of a background job, and carry on where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import isoformat
from chalicelib.dynamo import from_item
from chalicelib.ledger.items import (
    ACCOUNTS_INDEX_KEY,
    account_pk,
    entry_from_values,
    entry_sk,
    transfer_from_values,
    transfers_month_key,
)
from chalicelib.ledger.models import AccountState, Entry, Transfer
from chalicelib.ledger.store import LedgerStore

Position = dict[str, Any]  # a DynamoDB LastEvaluatedKey, carried between pages


@dataclass(frozen=True)
class RecordedTransfer:
    """A transfer as stored, with the sequence of the entry it wrote on each account."""

    transfer: Transfer
    entry_seqs: Mapping[str, int]


@dataclass(frozen=True)
class StatesPage:
    states: list[AccountState]
    position: Position | None


@dataclass(frozen=True)
class TransfersPage:
    transfers: list[RecordedTransfer]
    position: Position | None


class LedgerListing:
    """Bounded pages over the whole ledger, read through the ledger's store."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    def account_states(
        self, *, prefix: str = "", limit: int = 100, position: Position | None = None
    ) -> StatesPage:
        """Account states in account id order; ``prefix`` narrows them to one court's region
        (case account numbers start with it) or to the system accounts (``SYS-``)."""
        condition = "gsi1pk = :all"
        values: dict[str, Any] = {":all": {"S": ACCOUNTS_INDEX_KEY}}
        if prefix:
            condition += " AND begins_with(gsi1sk, :prefix)"
            values[":prefix"] = {"S": prefix}
        args: dict[str, Any] = {
            "TableName": self.store.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if position:
            args["ExclusiveStartKey"] = position
        answer = self.store.client.query(**args)
        states = [AccountState.model_validate_json(item["body"]["S"]) for item in answer["Items"]]
        return StatesPage(states, answer.get("LastEvaluatedKey"))

    def transfers_in_month(
        self,
        month: datetime,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        position: Position | None = None,
    ) -> TransfersPage:
        """Transfers created in ``month``, oldest first, optionally only ``start <= at < end``."""
        condition = "gsi1pk = :month"
        values: dict[str, Any] = {":month": {"S": transfers_month_key(month)}}
        if start is not None and end is not None:
            condition += " AND gsi1sk BETWEEN :start AND :end"
            values[":start"] = {"S": isoformat(start)}
            values[":end"] = {"S": isoformat(end)}  # "#" sorts below digits: excludes ``end``
        args: dict[str, Any] = {
            "TableName": self.store.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if position:
            args["ExclusiveStartKey"] = position
        answer = self.store.client.query(**args)
        recorded = []
        for item in answer["Items"]:
            stored = from_item(item)
            seqs = stored.get("entry_seqs") or {}
            recorded.append(
                RecordedTransfer(
                    transfer_from_values(stored), {str(a): int(s) for a, s in seqs.items()}
                )
            )
        return TransfersPage(recorded, answer.get("LastEvaluatedKey"))

    def entries_at(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], Entry | None]:
        """The entries stored under these (account, sequence) keys, read consistently; an
        absent key is left out, an entry that no longer reads as one is None."""
        items = self.store.batch_get_items([(account_pk(a), entry_sk(s)) for a, s in keys])
        found: dict[tuple[str, int], Entry | None] = {}
        for item in items:
            values = from_item(item)
            key = (str(values["pk"]).removeprefix("ACCT#"), int(values["sk"][len("ENTRY#") :]))
            try:
                found[key] = entry_from_values(values)
            except (ValueError, KeyError, TypeError):
                found[key] = None
        return found

    def entries(self, account_id: str, *, after_seq: int = 0, page: int = 500) -> Iterator[Entry]:
        """An account's entries after ``after_seq`` in sequence order, read a page at a time,
        so a long account streams in constant memory."""
        args: dict[str, Any] = {
            "TableName": self.store.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": account_pk(account_id)},
                ":first": {"S": entry_sk(after_seq + 1)},
                ":last": {"S": entry_sk(10**12 - 1)},
            },
            "ConsistentRead": True,
            "Limit": page,
        }
        while True:
            answer = self.store.client.query(**args)
            for item in answer["Items"]:
                yield entry_from_values(from_item(item))
            if "LastEvaluatedKey" not in answer:
                return
            args["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
