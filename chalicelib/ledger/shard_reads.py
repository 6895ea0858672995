"""Reading a sharded system account as one: its balance, balance at a time, statement and
verify are those of every shard that exists, summed and merged (see ``shards``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.clock import isoformat
from chalicelib.dynamo import encode_cursor
from chalicelib.ledger.errors import AccountNotFound, InvalidQuery
from chalicelib.ledger.items import account_pk, entry_sk
from chalicelib.ledger.models import (
    AccountBalance,
    AccountState,
    Counters,
    Entry,
    StatementLine,
    VerifyReport,
)
from chalicelib.ledger.shards import shard_ids

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.ledger.store import LedgerStore


def shard_states(store: LedgerStore, account_id: str) -> list[AccountState]:
    """The states of every shard of ``account_id`` that exists, in shard order."""
    ids = shard_ids(account_id)
    found = store.account_states(ids)
    if account_id not in found:
        raise AccountNotFound(f"no ledger account {account_id}", account_id=account_id)
    return [found[i] for i in ids if i in found]


def _sum(counters: list[Counters]) -> Counters:
    total = Counters()
    for counter in counters:
        total = total + counter
    return total


def _minus(after: Counters, delta: Counters) -> Counters:
    return Counters(
        debits_posted=after.debits_posted - delta.debits_posted,
        credits_posted=after.credits_posted - delta.credits_posted,
        debits_pending=after.debits_pending - delta.debits_pending,
        credits_pending=after.credits_pending - delta.credits_pending,
    )


def balance(store: LedgerStore, account_id: str) -> AccountBalance:
    states = shard_states(store, account_id)
    last = max((s.last_at for s in states if s.last_at), default=None)
    seq = sum(s.seq for s in states)  # entries across the shards
    return AccountBalance.of(
        account_id, states[0].account.currency, seq, _sum([s.totals for s in states]), last
    )


def balance_at(store: LedgerStore, account_id: str, moment: datetime) -> AccountBalance:
    states = shard_states(store, account_id)
    lasts = [store.last_entry_before(s.account.id, moment) for s in states]
    entries = [entry for entry in lasts if entry is not None]
    return AccountBalance.of(
        account_id,
        states[0].account.currency,
        sum(entry.seq for entry in entries),
        _sum([entry.after for entry in entries]),
        moment,
    )


def _decode(cursor: str | None) -> dict[str, str | None]:
    if not cursor:
        return {}
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as error:
        raise InvalidQuery("the cursor is not one this ledger issued for this list") from error
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    ):
        raise InvalidQuery("the cursor is not one this ledger issued for this list")
    return value


def _entry_cursor(entry: Entry) -> str | None:
    """A statement cursor that resumes just after ``entry`` in its shard."""
    return encode_cursor(
        {
            "pk": {"S": account_pk(entry.account_id)},
            "sk": {"S": entry_sk(entry.seq)},
            "gsi1pk": {"S": f"STMT#{entry.account_id}"},
            "gsi1sk": {"S": f"{isoformat(entry.at)}#{entry.seq:012d}"},
        }
    )


def statement_lines(
    store: LedgerStore,
    account_id: str,
    *,
    start: datetime,
    end: datetime,
    limit: int,
    cursor: str | None,
) -> tuple[list[StatementLine], str | None]:
    """One page of the shards' entries merged by time, each line with the running balance of
    the whole account; the cursor carries each shard's place."""
    states = shard_states(store, account_id)
    places = _decode(cursor)
    done = "done"
    pages: dict[str, tuple[list[Entry], str | None]] = {}
    for state in states:
        shard = state.account.id
        if places.get(shard) == done:
            continue
        pages[shard] = store.entries_between(
            shard, start, end, limit=limit, cursor=places.get(shard)
        )
    order = {state.account.id: index for index, state in enumerate(states)}
    merged = sorted(
        (entry for entries, _ in pages.values() for entry in entries),
        key=lambda e: (e.at, order[e.account_id], e.seq),
    )[:limit]
    if not merged:
        return [], None
    running: dict[str, Counters] = {}
    for state in states:
        first = next((e for e in merged if e.account_id == state.account.id), None)
        if first is not None:
            running[state.account.id] = _minus(first.after, first.delta)
        else:
            before = store.last_entry_before(state.account.id, merged[0].at)
            running[state.account.id] = before.after if before else Counters()
    lines = []
    for entry in merged:
        running[entry.account_id] = entry.after
        total = _sum(list(running.values()))
        lines.append(
            StatementLine(
                seq=entry.seq,
                at=entry.at,
                transfer_id=entry.transfer_id,
                phase=entry.phase,
                code=entry.code,
                debit=entry.delta.debits_posted,
                credit=entry.delta.credits_posted,
                pending_debit=entry.delta.debits_pending,
                pending_credit=entry.delta.credits_pending,
                balance=total.posted,
                available=total.available,
            )
        )
    next_places: dict[str, str | None] = {}
    for shard, (entries, shard_next) in pages.items():
        used = [e for e in merged if e.account_id == shard]
        if len(used) == len(entries):
            next_places[shard] = done if shard_next is None else shard_next
        else:
            next_places[shard] = _entry_cursor(used[-1]) if used else places.get(shard)
    for shard, place in places.items():
        next_places.setdefault(shard, place)
    if all(place == done for place in next_places.values()):
        return lines, None
    encoded = json.dumps(next_places, sort_keys=True).encode()
    return lines, base64.urlsafe_b64encode(encoded).decode()


def verify(
    account_id: str, states: list[AccountState], one: Callable[[str], VerifyReport]
) -> VerifyReport:
    """Each shard verified on its own; the account is sound if every shard is."""
    reports = [one(state.account.id) for state in states]
    broken = next((r for r in reports if not r.ok), None)
    heads = "".join(report.head_hash for report in reports)
    return VerifyReport(
        account_id=account_id,
        ok=broken is None,
        entries_checked=sum(report.entries_checked for report in reports),
        head_hash=hashlib.sha256(heads.encode()).hexdigest(),
        recomputed=_sum([report.recomputed for report in reports]),
        first_break=broken.first_break if broken else None,
    )
