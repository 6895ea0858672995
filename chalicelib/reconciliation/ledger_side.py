"""The ledger's side of a reconciliation day: what its rail-facing accounts moved, by reference,
as a stream in time order.

The rail-facing accounts are payment clearing and the refunds and payouts in transit: a debit
there is money the rail took in for the court, a credit money it let out. Each movement is
keyed by the rail's reference the transfer carries (``rail_reference`` in its metadata, set by
collection), or by its own id when it has none.

The accounts' entries (every shard of each) are read page by page and merged by time, and the
transfers behind them fetched in batches, so a run holds a page per shard and a batch, never
the day.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from chalicelib.ledger import (
    Entry,
    LedgerService,
    Side,
    SystemAccount,
    Transfer,
    TransferCode,
)
from chalicelib.ledger.shard_reads import shard_states
from chalicelib.ledger.shards import base_of
from chalicelib.reconciliation.matching import LedgerMovement

PAGE = 500
TRANSFER_BATCH = 100
RAIL_FACING = (
    SystemAccount.PAYMENT_CLEARING,
    SystemAccount.REFUNDS_IN_TRANSIT,
    SystemAccount.PAYOUTS_IN_TRANSIT,
)
# Where the money behind a rail movement may sit on the ledger's other side.
HOLDING = (SystemAccount.UNIDENTIFIED_FUNDS, SystemAccount.RAIL_FEES)


@dataclass
class LedgerTotals:
    """What the day's stream added up to, filled as it is read."""

    rail_movement: int = 0
    case_movement: int = 0  # case accounts, unidentified funds and rail fees, mirrored
    # The case accounts the day touched, to check none is below zero: bounded by the cases
    # a court has, not by the payments of the day.
    case_accounts: set[str] = field(default_factory=set)
    strays: list[tuple[str, str, int]] = field(default_factory=list)  # transfer, account, fen


def _entries(
    ledger: LedgerService, account_id: str, start: datetime, end: datetime
) -> Iterator[Entry]:
    """An account's entries of the window, oldest first, a page at a time. A sharded account's
    shards are each read page by page and merged by time; no running balance is computed
    (the statement's is not needed here, and costs a read per shard and page)."""
    shards = [state.account.id for state in shard_states(ledger.store, account_id)]
    yield from heapq.merge(
        *(_shard_entries(ledger, shard, start, end) for shard in shards),
        key=lambda entry: (entry.at, entry.account_id, entry.seq),
    )


def _shard_entries(
    ledger: LedgerService, account_id: str, start: datetime, end: datetime
) -> Iterator[Entry]:
    cursor: str | None = None
    while True:
        entries, cursor = ledger.store.entries_between(
            account_id, start, end, limit=PAGE, cursor=cursor
        )
        for entry in entries:
            # Fees are matched by the rail transaction they were booked from, whichever day
            # they were booked on; pending reservations are not money moved.
            moved = entry.delta.debits_posted or entry.delta.credits_posted
            if entry.code is not TransferCode.RAIL_FEE and moved:
                yield entry
        if cursor is None:
            return


def _transfer_times(
    ledger: LedgerService, currency: str, start: datetime, end: datetime
) -> Iterator[tuple[datetime, str]]:
    """Each transfer that moved a rail-facing account, once, in time order. The lines of one
    transfer share its time, so a transfer seen on two accounts is caught among the lines of
    that instant alone."""
    streams = [
        ((e.at, e.transfer_id) for e in _entries(ledger, system.of(currency), start, end))
        for system in RAIL_FACING
    ]
    instant: datetime | None = None
    seen: set[str] = set()
    for at, transfer_id in heapq.merge(*streams):
        if at != instant:
            instant, seen = at, set()
        if transfer_id not in seen:
            seen.add(transfer_id)
            yield at, transfer_id


def ledger_movements(
    ledger: LedgerService, currency: str, start: datetime, end: datetime, totals: LedgerTotals
) -> Iterator[LedgerMovement]:
    """The day's movements of the court's money at the rail, in time order; ``totals`` adds
    up the two ledger sides as they pass."""
    facing = {system.of(currency) for system in RAIL_FACING}
    holding = {system.of(currency) for system in HOLDING}
    timed = _transfer_times(ledger, currency, start, end)
    while batch := list(islice(timed, TRANSFER_BATCH)):
        transfers = ledger.transfers([transfer_id for _, transfer_id in batch])
        for at, transfer_id in batch:
            transfer = transfers.get(transfer_id)
            movement = transfer and _movement(transfer, at, facing, holding, totals)
            if movement:
                yield movement


def _movement(
    transfer: Transfer, at: datetime, facing: set[str], holding: set[str], totals: LedgerTotals
) -> LedgerMovement | None:
    into_rail = 0
    for leg in transfer.legs:
        signed = leg.amount if leg.side is Side.DEBIT else -leg.amount
        # A system account's shard counts as the account it belongs to.
        home = base_of(leg.account_id)
        if home in facing:
            into_rail += signed
        elif home in holding or _is_case_account(leg.account_id):
            totals.case_movement -= signed
            if _is_case_account(leg.account_id):
                totals.case_accounts.add(leg.account_id)
        else:
            totals.strays.append((transfer.id, leg.account_id, signed))
    if into_rail == 0:
        return None  # money moved between rail-facing accounts only
    totals.rail_movement += into_rail
    return LedgerMovement(
        transfer_id=transfer.id,
        reference=transfer.metadata.get("rail_reference", transfer.id),
        amount=into_rail,
        currency=transfer.currency,
        at=at,
    )


def _is_case_account(account_id: str) -> bool:
    # System accounts are named SYS-...; case accounts are the 16-digit numbers.
    return not account_id.startswith("SYS-")
