"""The ledger's DynamoDB adapter: the calls and the transaction items, nothing else.

The one place that reads and writes the ledger table and knows the conditions a posting commits
on; a cancelled posting is decoded here by what each position of its transaction was. The
items' layout, keys and encoding are in ``items``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import dynamo
from chalicelib.clock import isoformat
from chalicelib.dynamo import from_item, to_item
from chalicelib.ledger.errors import ConcurrencyExhausted, InvalidQuery
from chalicelib.ledger.items import (
    OPEN_PROPOSALS_KEY,
    PENDING_INDEX_KEY,
    PROPOSAL_SK,
    REVERSED_SK,
    STATE_SK,
    TRANSFER_SK,
    account_pk,
    entry_from_values,
    entry_sk,
    item_key,
    proposal_pk,
    state_from_item,
    state_item_values,
    strip_keys,
    transfer_from_values,
    transfer_pk,
    transfers_month_key,
)
from chalicelib.ledger.models import (
    AccountState,
    CorrectionProposal,
    Entry,
    PendingState,
    Transfer,
    canonical_json,
)
from chalicelib.retry import Backoff

MAX_BATCH_ATTEMPTS = 8
REFUSED_REASONS = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})
RETRYABLE_ERRORS = frozenset({"TransactionConflictException", "TransactionInProgressException"})


@dataclass(frozen=True)
class Cancelled(Exception):
    """TransactWriteItems was cancelled; ``reasons`` holds one code per item, in order
    ("None", "ConditionalCheckFailed", "TransactionConflict", ...)."""

    reasons: tuple[str, ...]

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    @property
    def refused(self) -> bool:
        """An item was refused as invalid: trying again would fail the same way."""
        return any(reason in REFUSED_REASONS for reason in self.reasons)

    @property
    def contended(self) -> bool:
        return "TransactionConflict" in self.reasons or not any(
            reason == "ConditionalCheckFailed" for reason in self.reasons
        )


@dataclass(frozen=True)
class PostingCancelled(Exception):
    """A posting's transaction was cancelled, told as what it means for the posting rather
    than as positions in the transaction.

    ``transfer_exists``: the transfer id is taken (a replay, or a conflict). ``stale_accounts``:
    accounts whose state moved since the posting read it (or whose entry slot is taken).
    ``failed_guards``: the indexes of the caller's guards whose condition failed. ``contended``:
    another transaction was in flight; trying again may succeed. ``refused``: an item was
    invalid, and trying again would fail the same way.
    """

    transfer_exists: bool
    stale_accounts: frozenset[str]
    failed_guards: tuple[int, ...]
    contended: bool
    refused: bool


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    cursor: str | None


_CURSOR_KEYS = {"pk", "sk", "gsi1pk", "gsi1sk"}


def decode_cursor(cursor: str | None, *, partition: str) -> dict[str, Any] | None:
    """The start key a cursor carries, only if it is a well-formed key inside ``partition``:
    a client cannot page into another account's statement with a crafted cursor."""
    if not cursor:
        return None
    try:
        return dynamo.decode_cursor(
            cursor, names=_CURSOR_KEYS, belongs=lambda key: key["gsi1pk"] == partition
        )
    except dynamo.CursorRefused as refused:
        raise InvalidQuery("the cursor is not one this ledger issued for this list") from refused


class LedgerStore:
    """Reads and writes ledger items in one table through the low-level DynamoDB client."""

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.table = table
        # unprocessed keys mean the table is throttling: back off, with jitter
        self._backoff = Backoff(base=0.02, cap=1.0, sleep=sleep, rng=rng)

    # -- reads -------------------------------------------------------------------------------

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = self.client.get_item(
            TableName=self.table, Key=item_key(pk, sk), ConsistentRead=True
        )
        item = answer.get("Item")
        return from_item(item) if item else None

    def account_state(self, account_id: str) -> AccountState | None:
        answer = self.client.get_item(
            TableName=self.table,
            Key=item_key(account_pk(account_id), STATE_SK),
            ConsistentRead=True,
        )
        return state_from_item(answer["Item"]) if "Item" in answer else None

    def account_states(self, account_ids: list[str]) -> dict[str, AccountState]:
        """The stored states of these accounts (missing ones are left out), read consistently."""
        items = self._batch_get([item_key(account_pk(i), STATE_SK) for i in account_ids])
        states = [state_from_item(item) for item in items]
        return {state.account.id: state for state in states}

    def transfers(self, transfer_ids: set[str]) -> dict[str, Transfer]:
        """The recorded transfers with these ids (missing ones are left out)."""
        items = self._batch_get(
            [item_key(transfer_pk(i), TRANSFER_SK) for i in sorted(transfer_ids)]
        )
        found = [transfer_from_values(from_item(item)) for item in items]
        return {transfer.id: transfer for transfer in found}

    def batch_get_items(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """The items stored under these (pk, sk) keys, still typed; absent ones are left out."""
        return self._batch_get([item_key(pk, sk) for pk, sk in dict.fromkeys(keys)])

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Consistent BatchGetItem over any number of keys, retrying unprocessed ones."""
        try:
            return dynamo.batch_get(
                self.client, self.table, keys, backoff=self._backoff, attempts=MAX_BATCH_ATTEMPTS
            )
        except dynamo.UnreadKeys as unread:
            raise ConcurrencyExhausted(
                f"the ledger table left keys unread {MAX_BATCH_ATTEMPTS} times; "
                "nothing was changed, try again"
            ) from unread

    def transfer(self, transfer_id: str) -> tuple[Transfer, str] | None:
        """A recorded transfer and the fingerprint of the request that made it."""
        values = self.get(transfer_pk(transfer_id), TRANSFER_SK)
        if values is None:
            return None
        return transfer_from_values(values), str(values["fingerprint"])

    def entries(self, account_id: str) -> list[tuple[int, Entry]]:
        """Every entry of an account in sequence order, with the sequence its key carries."""
        stored: list[tuple[int, Entry]] = []
        for key_seq, entry in self.audit_entries(account_id):
            if entry is None:
                raise ValueError(f"entry {key_seq} of account {account_id} cannot be read")
            stored.append((key_seq, entry))
        return stored

    def audit_entries(self, account_id: str) -> list[tuple[int, Entry | None]]:
        """Like ``entries``, but an entry whose stored body no longer reads as an entry (it
        was tampered with) comes back as None, for ``verify`` to report, not to crash on."""
        stored: list[tuple[int, Entry | None]] = []
        for item in self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :entry)",
            ExpressionAttributeValues={
                ":pk": {"S": account_pk(account_id)},
                ":entry": {"S": "ENTRY#"},
            },
            ConsistentRead=True,
        ):
            key_seq = int(item["sk"].removeprefix("ENTRY#"))
            try:
                entry: Entry | None = entry_from_values(item)
            except (ValueError, KeyError, TypeError):
                entry = None
            if entry is not None and item["body"] != entry.canonical():
                entry = None  # what is stored must be, byte for byte, the text the hash covers
            stored.append((key_seq, entry))
        return stored

    def entries_between(
        self, account_id: str, start: datetime, end: datetime, *, limit: int, cursor: str | None
    ) -> tuple[list[Entry], str | None]:
        """One page of an account's entries with ``start <= at < end``, oldest first."""
        args: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"STMT#{account_id}"},
                ":start": {"S": isoformat(start)},
                # "#" sorts below every digit, so this bound excludes entries at ``end``
                ":end": {"S": isoformat(end)},
            },
            "Limit": limit,
        }
        start_key = decode_cursor(cursor, partition=f"STMT#{account_id}")
        if start_key:
            # DynamoDB refuses a start key outside the key condition with a ValidationException
            inside = isoformat(start) <= start_key["gsi1sk"]["S"] < isoformat(end)
            if not inside or start_key["pk"]["S"] != account_pk(account_id):
                raise InvalidQuery("the cursor belongs to another statement window or account")
            args["ExclusiveStartKey"] = start_key
        answer = self.client.query(**args)
        entries = [entry_from_values(from_item(item)) for item in answer["Items"]]
        return entries, dynamo.encode_cursor(answer.get("LastEvaluatedKey"))

    def last_entry_before(self, account_id: str, moment: datetime) -> Entry | None:
        """The newest entry of an account at or before ``moment``."""
        answer = self.client.query(
            TableName=self.table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk AND gsi1sk < :end",
            ExpressionAttributeValues={
                ":pk": {"S": f"STMT#{account_id}"},
                # "#" follows the timestamp, and "$" sorts after "#": entries at ``moment`` count
                ":end": {"S": isoformat(moment) + "$"},
            },
            ScanIndexForward=False,
            Limit=1,
        )
        items = answer["Items"]
        return entry_from_values(from_item(items[0])) if items else None

    def due_pending(self, now: datetime) -> Iterator[str]:
        """Ids of pending transfers whose timeout has passed, soonest first."""
        for item in self._query(
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :pending AND gsi2sk <= :now",
            ExpressionAttributeValues={
                ":pending": {"S": PENDING_INDEX_KEY},
                ":now": {"S": isoformat(now) + "$"},
            },
            ProjectionExpression="pk",
        ):
            yield str(item["pk"]).removeprefix("XFER#")

    def proposal(self, proposal_id: str) -> CorrectionProposal | None:
        values = self.get(proposal_pk(proposal_id), PROPOSAL_SK)
        return CorrectionProposal.model_validate(strip_keys(values)) if values else None

    def open_proposals(self, *, limit: int, cursor: str | None) -> Page:
        args: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :open",
            "ExpressionAttributeValues": {":open": {"S": OPEN_PROPOSALS_KEY}},
            "Limit": limit,
        }
        start_key = decode_cursor(cursor, partition=OPEN_PROPOSALS_KEY)
        if start_key:
            args["ExclusiveStartKey"] = start_key
        answer = self.client.query(**args)
        items = [strip_keys(from_item(item)) for item in answer["Items"]]
        return Page(items, dynamo.encode_cursor(answer.get("LastEvaluatedKey")))

    def _query(self, **args: Any) -> Iterator[dict[str, Any]]:
        args["TableName"] = self.table
        while True:
            answer = self.client.query(**args)
            for item in answer["Items"]:
                yield from_item(item)
            if "LastEvaluatedKey" not in answer:
                return
            args["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    # -- writes ------------------------------------------------------------------------------

    def put_new(self, pk: str, sk: str, values: Mapping[str, Any]) -> bool:
        """Write an item only if its key is free; False if it already exists."""
        return dynamo.put_new(self.client, self.table, {**item_key(pk, sk), **to_item(values)})

    def commit(self, items: list[dict[str, Any]]) -> None:
        """One TransactWriteItems; a cancellation becomes ``Cancelled`` with its reasons."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = dynamo.cancellation_reasons(exc)
            if reasons is not None:
                raise Cancelled(tuple(reasons or ["TransactionConflict"])) from exc
            if exc.response["Error"]["Code"] in RETRYABLE_ERRORS:
                raise Cancelled(("TransactionConflict",)) from exc
            raise

    def open_account(self, state: AccountState) -> bool:
        """Store a new account's state; False if the account already exists."""
        return self.put_new(account_pk(state.account.id), STATE_SK, state_item_values(state))

    def put_new_proposal(self, proposal: CorrectionProposal) -> bool:
        """Store a new correction proposal; False if its id is taken."""
        return self.put_new(proposal_pk(proposal.id), PROPOSAL_SK, self.proposal_values(proposal))

    def posting_items(
        self,
        transfer: Transfer,
        fingerprint: str,
        moves: list[tuple[AccountState, AccountState]],
        entries: list[Entry],
        guards: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """The items of one posting, in this order: the transfer record, each account moved
        from its state before to its state after (conditional on nobody moving it meanwhile),
        one entry per account (both in the order of ``moves``), then the caller's guards."""
        seqs = {entry.account_id: entry.seq for entry in entries}
        items = [self.new_transfer_item(transfer, fingerprint, seqs)]
        items += [self.state_update_item(before, after) for before, after in moves]
        items += [self.new_entry_item(entry) for entry in entries]
        return items + guards

    def posting_cancelled(
        self,
        reasons: tuple[str, ...],
        moves: list[tuple[AccountState, AccountState]],
        entries: list[Entry],
        guards: list[dict[str, Any]],
    ) -> PostingCancelled:
        """What a cancellation means for a posting, from the reasons of its own items (in the
        order ``posting_items`` gave them), wherever they sat in the transaction."""
        cancelled = Cancelled(reasons)
        count = len(moves)
        accounts = [after.account.id for _, after in moves]
        entry_at = {entry.account_id: 1 + count + k for k, entry in enumerate(entries)}
        stale = frozenset(
            account_id
            for k, account_id in enumerate(accounts)
            if cancelled.failed(1 + k)
            or (account_id in entry_at and cancelled.failed(entry_at[account_id]))
        )
        guard_start = 1 + count + len(entries)
        return PostingCancelled(
            transfer_exists=cancelled.failed(0),
            stale_accounts=stale,
            failed_guards=tuple(k for k in range(len(guards)) if cancelled.failed(guard_start + k)),
            contended=cancelled.contended,
            refused=cancelled.refused,
        )

    # -- transaction items -------------------------------------------------------------------

    def new_transfer_item(
        self, transfer: Transfer, fingerprint: str, entry_seqs: Mapping[str, int]
    ) -> dict[str, Any]:
        """The transfer record, with the sequence of the entry it writes on each account."""
        body = transfer.model_dump(mode="json", exclude={"state", "resolved_by"}, exclude_none=True)
        item = {
            "body": {"S": canonical_json(body)},
            "fingerprint": {"S": fingerprint},
            "entry_seqs": {"M": {a: {"N": str(seq)} for a, seq in sorted(entry_seqs.items())}},
            "gsi1pk": {"S": transfers_month_key(transfer.created_at)},
            "gsi1sk": {"S": f"{isoformat(transfer.created_at)}#{transfer.id}"},
        }
        if transfer.state is not None:
            item["state"] = {"S": transfer.state.value}
        if transfer.state == PendingState.PENDING and transfer.expires_at is not None:
            item["gsi2pk"] = {"S": PENDING_INDEX_KEY}
            item["gsi2sk"] = {"S": f"{isoformat(transfer.expires_at)}#{transfer.id}"}
        return self._put_new_item(transfer_pk(transfer.id), TRANSFER_SK, item)

    def state_update_item(self, before: AccountState, after: AccountState) -> dict[str, Any]:
        """Move an account from ``before`` to ``after``, only if nobody moved it meanwhile."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": item_key(account_pk(after.account.id), STATE_SK),
                "UpdateExpression": "SET seq = :seq, body = :body",
                "ConditionExpression": "seq = :expected",
                "ExpressionAttributeValues": {
                    ":seq": {"N": str(after.seq)},
                    ":body": {"S": canonical_json(after.model_dump(mode="json"))},
                    ":expected": {"N": str(before.seq)},
                },
            }
        }

    def new_entry_item(self, entry: Entry) -> dict[str, Any]:
        item = {
            "body": {"S": entry.canonical()},
            "hash": {"S": entry.hash},
            "gsi1pk": {"S": f"STMT#{entry.account_id}"},
            "gsi1sk": {"S": f"{isoformat(entry.at)}#{entry.seq:012d}"},
        }
        return self._put_new_item(account_pk(entry.account_id), entry_sk(entry.seq), item)

    def resolve_pending_item(
        self, pending_id: str, state: PendingState, resolved_by: str
    ) -> dict[str, Any]:
        """Close a pending transfer, once: only while it is still pending."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": item_key(transfer_pk(pending_id), TRANSFER_SK),
                "UpdateExpression": "SET #state = :state, resolved_by = :by REMOVE gsi2pk, gsi2sk",
                "ConditionExpression": "#state = :pending",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": to_item(
                    {":state": state.value, ":by": resolved_by, ":pending": "pending"}
                ),
            }
        }

    def reversal_guard_item(self, original_id: str, reversal_id: str) -> dict[str, Any]:
        return self._put_new(transfer_pk(original_id), REVERSED_SK, {"reversed_by": reversal_id})

    def reversal_of(self, original_id: str) -> str | None:
        values = self.get(transfer_pk(original_id), REVERSED_SK)
        return str(values["reversed_by"]) if values else None

    def proposal_values(self, proposal: CorrectionProposal) -> dict[str, Any]:
        values = proposal.model_dump(mode="json", exclude_none=True)
        values["gsi1pk"] = OPEN_PROPOSALS_KEY
        values["gsi1sk"] = f"{isoformat(proposal.proposed_at)}#{proposal.id}"
        return values

    def decide_proposal_item(self, decided: CorrectionProposal) -> dict[str, Any]:
        """Record the decision on an open proposal, once, and drop it from the open list."""
        values = decided.model_dump(mode="json", exclude_none=True)
        names = {f"#{name}": name for name in ("status", "decided_by", "decided_at")}
        sets = ["#status = :status", "#decided_by = :decided_by", "#decided_at = :decided_at"]
        attribute_values = {
            ":status": values["status"],
            ":decided_by": values["decided_by"],
            ":decided_at": values["decided_at"],
            ":open": "open",
        }
        for optional in ("transfer_id", "decision_reason", "decider_subject"):
            if optional in values:
                names[f"#{optional}"] = optional
                sets.append(f"#{optional} = :{optional}")
                attribute_values[f":{optional}"] = values[optional]
        return {
            "Update": {
                "TableName": self.table,
                "Key": item_key(proposal_pk(decided.id), PROPOSAL_SK),
                "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE gsi1pk, gsi1sk",
                "ConditionExpression": "#status = :open",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(attribute_values),
            }
        }

    def _put_new(self, pk: str, sk: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return self._put_new_item(pk, sk, to_item(values))

    def _put_new_item(self, pk: str, sk: str, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {**item_key(pk, sk), **item},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
