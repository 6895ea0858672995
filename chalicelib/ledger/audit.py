"""Proving an account: its hash chain and running balances recomputed from its entries, and
every entry checked against the transfer record it names.

``verify`` reads one account (every shard of a sharded system account); the chain functions are
pure, so the whole-ledger check and the auditors' offline tools use them as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.ledger import shard_reads
from chalicelib.ledger.errors import AccountNotFound
from chalicelib.ledger.models import (
    CASE_ACCOUNT_ID,
    GENESIS_HASH,
    AccountKind,
    AccountState,
    BreakKind,
    ChainBreak,
    Counters,
    Entry,
    Side,
    Transfer,
    TransferPhase,
    VerifyReport,
)
from chalicelib.ledger.shards import is_sharded

if TYPE_CHECKING:
    from chalicelib.ledger.store import LedgerStore


def verify(store: LedgerStore, account_id: str) -> VerifyReport:
    """Recompute the account's hash chain and balances from its entries, then check every
    entry against the transfer record it names (each shard of a sharded account)."""
    if is_sharded(account_id):
        states = shard_reads.shard_states(store, account_id)
        return shard_reads.verify(account_id, states, lambda shard: verify_one(store, shard))
    return verify_one(store, account_id)


def verify_one(store: LedgerStore, account_id: str) -> VerifyReport:
    """``verify`` of one stored account (one shard)."""
    # The state first, then the entries: a posting that commits between the two reads
    # adds entries beyond the state's sequence, which the state read again confirms, and
    # those are left for the next verify. Read the other way round, a live account would
    # seem to have lost its newest entry.
    state: AccountState | None = store.account_state(account_id)
    stored = store.audit_entries(account_id)
    if state is None and not stored:
        raise AccountNotFound(f"no ledger account {account_id}", account_id=account_id)
    if state is not None and stored and stored[-1][0] > state.seq:
        later = store.account_state(account_id)
        if later is not None and later.seq >= stored[-1][0]:
            stored = [(key_seq, entry) for key_seq, entry in stored if key_seq <= state.seq]
    report = verify_chain(account_id, stored, state)
    # the entries the chain vouches for, checked against their transfers: an entry that
    # disagrees with its transfer comes before a later chain break or the stored state
    entries = [entry for _, entry in stored[: report.entries_checked] if entry is not None]
    if not entries:
        return report
    transfers = store.transfers({entry.transfer_id for entry in entries})
    pending_ids = {t.pending_id for t in transfers.values() if t.pending_id} - set(transfers)
    transfers |= store.transfers(pending_ids) if pending_ids else {}
    found = check_against_transfers(account_id, entries, transfers)
    chain_break = report.first_break
    if found is None:
        return report
    if (
        chain_break is not None
        and chain_break.kind != BreakKind.STATE
        and chain_break.seq <= found.seq
    ):
        return report
    return report.model_copy(update={"ok": False, "first_break": found})


def _entry_break(
    account_id: str, expected: int, key_seq: int, entry: Entry | None, prev_hash: str
) -> ChainBreak | None:
    """What is wrong with the entry stored as ``key_seq`` where entry ``expected`` belongs
    (None: its stored body no longer reads as an entry)."""
    if key_seq != expected:
        return ChainBreak(
            seq=expected,
            kind=BreakKind.MISSING,
            detail=f"entry {expected} is missing; the next stored entry is {key_seq}",
        )
    if entry is None:
        return ChainBreak(
            seq=expected,
            kind=BreakKind.CHANGED,
            detail=f"entry {expected} cannot be read or is not stored in its canonical form",
        )
    if entry.hash != entry.computed_hash():
        return ChainBreak(
            seq=expected, kind=BreakKind.CHANGED, detail=f"entry {expected} does not match its hash"
        )
    if entry.seq != key_seq or entry.account_id != account_id:
        return ChainBreak(
            seq=expected,
            kind=BreakKind.REORDERED,
            detail=f"the entry stored as {expected} is entry {entry.seq} of account "
            f"{entry.account_id}",
        )
    if entry.prev_hash != prev_hash:
        rewritten = max(expected - 1, 1)
        return ChainBreak(
            seq=rewritten,
            kind=BreakKind.CHANGED,
            detail=f"entry {expected} chains to a hash that entry {expected - 1} does not have: "
            f"entry {rewritten} was rewritten",
        )
    return None


def _no_overdraft(account_id: str, state: AccountState | None) -> bool:
    """Whether the account may never go below zero. A case account is known by its number,
    not only by the flag in its stored state, which a forger could switch off."""
    return bool(
        CASE_ACCOUNT_ID.match(account_id)
        or account_id.startswith("SYS-UNIDENTIFIED-")
        or (state is not None and state.account.no_overdraft)
    )


def verify_chain(
    account_id: str, stored: Sequence[tuple[int, Entry | None]], state: AccountState | None
) -> VerifyReport:
    """Recompute one account from its entries and report the first break.

    ``stored`` is every entry with the sequence number of the key it is stored under, in key
    order (None where the stored body cannot be read); ``state`` is the account's stored
    counters, compared with the recomputed ones.
    """
    counters = Counters()
    prev_hash = GENESIS_HASH
    expected = 1
    found: ChainBreak | None = None
    guarded = _no_overdraft(account_id, state)
    for key_seq, entry in stored:
        found = _entry_break(account_id, expected, key_seq, entry, prev_hash)
        if found is None and entry is not None and counters + entry.delta != entry.after:
            found = ChainBreak(
                seq=expected,
                kind=BreakKind.BALANCE,
                detail=f"the balance after entry {expected} does not add up",
            )
        if found is None and entry is not None and guarded and entry.after.available < 0:
            found = ChainBreak(
                seq=expected,
                kind=BreakKind.BALANCE,
                detail=f"the account is {-entry.after.available} fen below zero after entry "
                f"{expected}, pending debits included",
            )
        if found is not None or entry is None:
            break
        counters = counters + entry.delta
        prev_hash = entry.hash
        expected += 1
    if found is None and state is not None:
        if state.seq >= expected:
            found = ChainBreak(
                seq=expected,
                kind=BreakKind.MISSING,
                detail=f"the account records {state.seq} entries; "
                f"entry {expected} onwards is missing",
            )
        elif (
            state.seq != expected - 1
            or state.head_hash != prev_hash
            or state.totals != counters
            or state.account.id != account_id
            or (_no_overdraft(account_id, None) and not state.account.no_overdraft)
            or (CASE_ACCOUNT_ID.match(account_id) and state.account.kind != AccountKind.CASE)
        ):
            found = ChainBreak(
                seq=state.seq,
                kind=BreakKind.STATE,
                detail="the account's stored sequence, head hash or counters disagree with "
                "its entries, or its kind or overdraft flag with its number",
            )
    return VerifyReport(
        account_id=account_id,
        ok=found is None,
        entries_checked=expected - 1,
        head_hash=prev_hash,
        recomputed=counters,
        first_break=found,
    )


def entry_delta(account_id: str, transfer: Transfer, pending: Transfer | None) -> Counters | None:
    """The change ``transfer`` makes to one account, from the transfer records alone (a
    resolution needs its pending transfer); None if the account is not one of its legs."""
    legs = {leg.account_id: leg for leg in transfer.legs}
    if account_id not in legs:
        return None
    leg = legs[account_id]
    debit = leg.side == Side.DEBIT
    if transfer.phase == TransferPhase.POSTED:
        return Counters(debits_posted=leg.amount) if debit else Counters(credits_posted=leg.amount)
    if transfer.phase == TransferPhase.PENDING:
        return (
            Counters(debits_pending=leg.amount) if debit else Counters(credits_pending=leg.amount)
        )
    reserved = next(
        (r.amount for r in (pending.legs if pending else ()) if r.account_id == account_id), None
    )
    if reserved is None:
        return None
    posted = leg.amount if transfer.phase == TransferPhase.POST_PENDING else 0
    if debit:
        return Counters(debits_pending=-reserved, debits_posted=posted)
    return Counters(credits_pending=-reserved, credits_posted=posted)


def check_against_transfers(
    account_id: str, entries: list[Entry], transfers: dict[str, Transfer]
) -> ChainBreak | None:
    """The first entry that disagrees with the transfer record it names. An entry forged and
    re-hashed along the whole chain still has to match a second, separate record."""
    for entry in entries:
        transfer = transfers.get(entry.transfer_id)
        pending = transfers.get(transfer.pending_id) if transfer and transfer.pending_id else None
        expected = entry_delta(account_id, transfer, pending) if transfer else None
        if (
            transfer is None
            or transfer.phase != entry.phase
            or transfer.code != entry.code
            or expected != entry.delta
        ):
            return ChainBreak(
                seq=entry.seq,
                kind=BreakKind.TRANSFER,
                detail=f"entry {entry.seq} does not match transfer {entry.transfer_id}"
                + ("" if transfer else ", which does not exist"),
            )
    return None
