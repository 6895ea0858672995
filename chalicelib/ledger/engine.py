"""The ledger's posting engine: every transfer and every resolution of a pending transfer is
planned here and committed as one TransactWriteItems.

Concurrency is optimistic. The engine keeps the last known state of each account it
touched (``cache.AccountCache``); a posting computes the new counters, entries and hashes
from that state and commits them with every account update conditional on the sequence number
it started from. A stale state (another process posted meanwhile) cancels the transaction; the
engine re-reads the accounts and tries again, a bounded number of times with jittered backoff.
Because the balance guard is checked on exactly the state the condition pins, an overdraft can
never be committed.

A posting can also be planned and handed back (``PlannedPosting``) for a caller to commit with
the record it settles. One module on purpose: planning, committing and reading a cancellation
share one account cache and one idea of what a stale state is, for both ways of committing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from chalicelib.clock import Clock, isoformat
from chalicelib.ledger.cache import AccountCache
from chalicelib.ledger.errors import (
    AlreadyReversed,
    ConcurrencyExhausted,
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidTransfer,
    LedgerError,
    PendingExpired,
    PendingNotActive,
    TransferNotFound,
)
from chalicelib.ledger.models import (
    AccountState,
    Counters,
    Entry,
    Leg,
    PendingState,
    Side,
    Transfer,
    TransferPhase,
    TransferRequest,
    canonical_json,
    sha256_hex,
)
from chalicelib.ledger.shards import shard_for
from chalicelib.ledger.store import Cancelled, LedgerStore, PostingCancelled
from chalicelib.retry import Backoff

_RESOLVED_STATE = {
    TransferPhase.POST_PENDING: PendingState.POSTED,
    TransferPhase.VOID_PENDING: PendingState.VOIDED,
    TransferPhase.EXPIRE_PENDING: PendingState.EXPIRED,
}


@dataclass(frozen=True)
class Guard:
    """An extra conditional item committed with a transfer, and what its failure means."""

    item: dict[str, Any]
    on_failed: Callable[[], NoReturn]


@dataclass(frozen=True)
class _Plan:
    before: dict[str, AccountState]
    after: dict[str, AccountState]
    entries: list[Entry]


class PlannedPosting:
    """A posting planned on the accounts' last known states and not committed: its items go
    into the caller's own TransactWriteItems beside the records the money settles (DynamoDB
    transactions span tables), so both commit together or not at all.

    After the caller's transaction, tell the plan how it went: ``committed()`` keeps the new
    account states; ``cancelled(reasons)`` (the cancellation reasons of this plan's ``items``,
    in their order) forgets what went stale and says what failed. A taken transfer id means
    the money was posted before; plan again to retry a stale account."""

    def __init__(
        self,
        engine: PostingEngine,
        transfer: Transfer,
        fingerprint: str,
        plan: _Plan,
        guards: list[Guard],
    ) -> None:
        self.transfer = transfer
        self._engine = engine
        self._fingerprint = fingerprint
        self._plan = plan
        self._guards = guards
        self.items = engine.posting_items(transfer, fingerprint, plan, guards)

    def committed(self) -> None:
        self._engine.remember(self._plan)

    def cancelled(self, reasons: tuple[str, ...]) -> PostingCancelled:
        return self._engine.forget_cancelled(self._plan, self._guards, reasons)


class PostingEngine:
    """Posts transfers and resolves pending ones, exactly once per transfer id."""

    def __init__(
        self,
        store: LedgerStore,
        clock: Clock,
        cache: AccountCache,
        *,
        max_attempts: int,
        contention: Backoff,
        shards: int,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cache = cache
        self._max_attempts = max_attempts
        self._contention = contention
        self._shards = shards

    def get_transfer(self, transfer_id: str) -> Transfer:
        found = self._store.transfer(transfer_id)
        if found is None:
            raise TransferNotFound(f"no transfer {transfer_id}", transfer_id=transfer_id)
        return found[0]

    def post(self, request: TransferRequest, guards: list[Guard]) -> tuple[Transfer, bool]:
        """Post (or reserve) ``request`` with ``guards``; return the transfer and whether this
        call posted it (False: an idempotent replay)."""
        if request.reverses is not None:
            try:
                guards = [*guards, self._reversal_guard(request)]
            except LedgerError:
                self.replay(request.id, request.fingerprint())  # a reused id says so first
                raise
        transfer, deltas = self._transfer_of(request)
        return self._commit(transfer, request.fingerprint(), deltas, guards)

    def plan(self, request: TransferRequest) -> PlannedPosting:
        """Plan ``request`` (neither a reversal nor a resolution) on the accounts' last known
        states, for the caller to commit in its own transaction. A refused plan (an account
        missing, a currency that differs, funds short on a state read now) raises as
        ``post`` would; a transfer id already taken shows only when the items commit."""
        if request.reverses is not None:
            raise InvalidTransfer("a reversal is posted by the ledger itself, not planned")
        transfer, deltas = self._transfer_of(request)
        account_ids = sorted(deltas)
        for _ in range(2):
            states, cached = self._cache.states_for(account_ids, transfer.currency)
            try:
                plan = self._plan(transfer, states, deltas)
            except InsufficientFunds as short:
                if short.extensions.get("account_id") not in cached:
                    raise
                self._cache.forget(account_ids)  # refused on a cached balance: look again
                continue
            return PlannedPosting(self, transfer, request.fingerprint(), plan, [])
        states = {i: self._cache.read(i) for i in account_ids}
        return PlannedPosting(
            self, transfer, request.fingerprint(), self._plan(transfer, states, deltas), []
        )

    def _transfer_of(self, request: TransferRequest) -> tuple[Transfer, dict[str, Counters]]:
        """The transfer a request makes, with what each of its legs does to its account."""
        now = self._clock.now()
        # A system account's leg posts to the shard its transfer id picks (the fingerprint
        # stays that of the request, so a replay matches whatever the shard count is now).
        legs = tuple(
            leg.model_copy(
                update={"account_id": shard_for(leg.account_id, request.id, self._shards)}
            )
            for leg in request.legs
        )
        transfer = Transfer(
            id=request.id,
            phase=TransferPhase.PENDING if request.pending else TransferPhase.POSTED,
            code=request.code,
            currency=request.currency,
            legs=legs,
            requested_by=request.requested_by,
            metadata=request.metadata,
            created_at=now,
            reverses=request.reverses,
            expires_at=(
                now + timedelta(seconds=request.timeout_seconds)
                if request.timeout_seconds
                else None
            ),
            state=PendingState.PENDING if request.pending else None,
        )
        return transfer, {leg.account_id: leg_delta(leg, pending=request.pending) for leg in legs}

    def resolve(
        self,
        pending_id: str,
        resolution_id: str,
        *,
        phase: TransferPhase,
        amount: int | None,
        requested_by: str,
        now: datetime,
    ) -> tuple[Transfer, bool]:
        """Post (in full or in part), void or expire a pending transfer, exactly once."""
        fingerprint = sha256_hex(
            canonical_json(
                {
                    "id": resolution_id,
                    "pending_id": pending_id,
                    "phase": phase.value,
                    "amount": amount,
                    "requested_by": requested_by,
                }
            )
        )
        if resolution_id == pending_id:
            # the id is taken by the pending transfer itself; one transaction may not write
            # that record twice (DynamoDB refuses it), so answer the reuse here
            self.replay(resolution_id, fingerprint)
        pending = self.get_transfer(pending_id)
        if pending.phase != TransferPhase.PENDING:
            raise InvalidTransfer(f"transfer {pending_id} is not a pending transfer")
        if pending.state != PendingState.PENDING:
            replayed = self.replay(resolution_id, fingerprint)
            if replayed is not None:
                return replayed, False
            _raise_not_pending(pending)
        expires_at = pending.expires_at
        due = expires_at is not None and now >= expires_at
        if phase == TransferPhase.EXPIRE_PENDING and not due:
            raise PendingNotActive(f"pending transfer {pending_id} is not due to expire")
        if phase != TransferPhase.EXPIRE_PENDING and expires_at is not None and due:
            raise PendingExpired(
                f"pending transfer {pending_id} expired at {isoformat(expires_at)}",
                transfer_id=pending_id,
            )
        legs = _resolved_legs(pending, phase, amount)
        deltas: dict[str, Counters] = {}
        for reserved, resolved in zip(pending.legs, legs, strict=True):
            release = leg_delta(reserved, pending=True)
            release = Counters(
                debits_pending=-release.debits_pending, credits_pending=-release.credits_pending
            )
            posted = (
                leg_delta(resolved, pending=False)
                if phase == TransferPhase.POST_PENDING
                else Counters()
            )
            deltas[reserved.account_id] = release + posted
        resolution = Transfer(
            id=resolution_id,
            phase=phase,
            code=pending.code,
            currency=pending.currency,
            legs=legs,
            requested_by=requested_by,
            metadata=pending.metadata,
            created_at=now,
            pending_id=pending_id,
        )

        def no_longer_pending() -> NoReturn:
            _raise_not_pending(self.get_transfer(pending_id))

        guard = Guard(
            self._store.resolve_pending_item(pending_id, _RESOLVED_STATE[phase], resolution_id),
            no_longer_pending,
        )
        return self._commit(resolution, fingerprint, deltas, [guard])

    def replay(self, transfer_id: str, fingerprint: str) -> Transfer | None:
        """The recorded transfer if this id was used with the same request; a conflict error
        if it was used with another; None if the id is unused."""
        found = self._store.transfer(transfer_id)
        if found is None:
            return None
        recorded, recorded_fingerprint = found
        if recorded_fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"transfer id {transfer_id} was already used for a different request "
                f"({recorded.phase.value} {recorded.code.value} of {recorded.amount} fen "
                f"by {recorded.requested_by}); use a new id for a new transfer",
                transfer_id=transfer_id,
            )
        return recorded.as_created()

    def _reversal_guard(self, request: TransferRequest) -> Guard:
        original_id = str(request.reverses)
        original = self.get_transfer(original_id)
        if original.phase not in (TransferPhase.POSTED, TransferPhase.POST_PENDING):
            raise InvalidTransfer(
                f"transfer {original_id} is {original.phase.value}; only posted money is reversed"
            )
        if _leg_set(request.legs) != _leg_set(mirrored(original.legs)):
            raise InvalidTransfer(f"a reversal mirrors every leg of transfer {original_id}")
        if request.currency != original.currency:
            raise CurrencyMismatch(f"transfer {original_id} is in {original.currency}")
        reversed_by = self._store.reversal_of(original_id)
        if reversed_by not in (None, request.id):
            raise AlreadyReversed(
                f"transfer {original_id} was already reversed by {reversed_by}",
                transfer_id=original_id,
            )

        def already_reversed() -> NoReturn:
            raise AlreadyReversed(
                f"transfer {original_id} was already reversed by "
                f"{self._store.reversal_of(original_id)}",
                transfer_id=original_id,
            )

        return Guard(self._store.reversal_guard_item(original_id, request.id), already_reversed)

    def _commit(
        self,
        transfer: Transfer,
        fingerprint: str,
        deltas: dict[str, Counters],
        guards: list[Guard],
    ) -> tuple[Transfer, bool]:
        """Commit a transfer with its account updates, entries and guards in one transaction;
        return it and whether this call posted it (False: an idempotent replay)."""
        account_ids = sorted(deltas)
        tried = 0
        for attempt in range(self._max_attempts):
            tried += 1
            cached: set[str] = set()
            try:
                states, cached = self._cache.states_for(account_ids, transfer.currency)
                plan = self._plan(transfer, states, deltas)
            except LedgerError as exc:
                short_account = exc.extensions.get("account_id")
                if isinstance(exc, InsufficientFunds) and short_account in cached:
                    self._cache.forget([short_account])  # refused on a cached balance: look again
                    continue
                # a replay of a request that once posted still gets its answer
                replayed = self.replay(transfer.id, fingerprint)
                if replayed is not None:
                    return replayed, False
                raise
            try:
                self._store.commit(self.posting_items(transfer, fingerprint, plan, guards))
            except Cancelled as whole:
                cancelled = self.forget_cancelled(plan, guards, whole.reasons)
                if cancelled.refused:
                    raise LedgerError(
                        f"the ledger could not store transfer {transfer.id}: an item was "
                        "refused as invalid; nothing was posted"
                    ) from whole
                if cancelled.transfer_exists:
                    replayed = self.replay(transfer.id, fingerprint)
                    if replayed is not None:
                        return replayed, False
                if not cancelled.stale_accounts:
                    for index in cancelled.failed_guards:
                        guards[index].on_failed()
                if not self._contention.pause(attempt):
                    break  # the invocation's time is nearly up: answer rather than time out
                continue
            self.remember(plan)
            return transfer, True
        raise ConcurrencyExhausted(
            f"transfer {transfer.id} met concurrent updates {tried} times; "
            "nothing was posted, try again",
            transfer_id=transfer.id,
        )

    def posting_items(
        self, transfer: Transfer, fingerprint: str, plan: _Plan, guards: list[Guard]
    ) -> list[dict[str, Any]]:
        moves = [(plan.before[i], plan.after[i]) for i in sorted(plan.after)]
        return self._store.posting_items(
            transfer, fingerprint, moves, plan.entries, [guard.item for guard in guards]
        )

    def remember(self, plan: _Plan) -> None:
        """The plan committed: its accounts' new states are the last known."""
        self._cache.remember(plan.after)

    def forget_cancelled(
        self, plan: _Plan, guards: list[Guard], reasons: tuple[str, ...]
    ) -> PostingCancelled:
        """What a cancelled plan's items failed on; the states that may have moved (all of
        them under contention or a taken id, else the stale ones) are forgotten."""
        moves = [(plan.before[i], plan.after[i]) for i in sorted(plan.after)]
        cancelled = self._store.posting_cancelled(
            reasons, moves, plan.entries, [guard.item for guard in guards]
        )
        everything = cancelled.transfer_exists or cancelled.contended
        if everything or not cancelled.stale_accounts:
            self._cache.forget(plan.after)
        else:
            self._cache.forget(cancelled.stale_accounts)
        return cancelled

    def _plan(
        self, transfer: Transfer, states: dict[str, AccountState], deltas: dict[str, Counters]
    ) -> _Plan:
        now = self._clock.now()
        after: dict[str, AccountState] = {}
        entries: list[Entry] = []
        for account_id in sorted(deltas):
            state = states[account_id]
            totals = state.apply(deltas[account_id])
            # entry times never go backwards within an account, so date order is sequence order
            at = max(now, state.last_at) if state.last_at else now
            entry = Entry(
                account_id=account_id,
                seq=state.seq + 1,
                transfer_id=transfer.id,
                phase=transfer.phase,
                code=transfer.code,
                at=at,
                delta=deltas[account_id],
                after=totals,
                prev_hash=state.head_hash,
            ).sealed()
            entries.append(entry)
            after[account_id] = state.model_copy(
                update={"seq": entry.seq, "head_hash": entry.hash, "last_at": at, "totals": totals}
            )
        return _Plan(before=states, after=after, entries=entries)


def _raise_not_pending(pending: Transfer) -> NoReturn:
    state = pending.state.value if pending.state else "unknown"
    error = PendingExpired if pending.state == PendingState.EXPIRED else PendingNotActive
    raise error(
        f"pending transfer {pending.id} is already {state} (by {pending.resolved_by})",
        transfer_id=pending.id,
        state=state,
    )


def leg_delta(leg: Leg, *, pending: bool) -> Counters:
    """The change one leg makes to its account's counters."""
    if leg.side == Side.DEBIT:
        return (
            Counters(debits_pending=leg.amount) if pending else Counters(debits_posted=leg.amount)
        )
    return Counters(credits_pending=leg.amount) if pending else Counters(credits_posted=leg.amount)


def mirrored(legs: tuple[Leg, ...]) -> tuple[Leg, ...]:
    """The legs of a reversal: each leg on the other side."""
    opposite = {Side.DEBIT: Side.CREDIT, Side.CREDIT: Side.DEBIT}
    return tuple(leg.model_copy(update={"side": opposite[leg.side]}) for leg in legs)


def _leg_set(legs: tuple[Leg, ...]) -> set[tuple[str, Side, int]]:
    return {(leg.account_id, leg.side, leg.amount) for leg in legs}


def _resolved_legs(pending: Transfer, phase: TransferPhase, amount: int | None) -> tuple[Leg, ...]:
    """The legs a resolution moves: the reserved legs, or for a partial post the amount asked."""
    if phase != TransferPhase.POST_PENDING or amount is None or amount == pending.amount:
        return pending.legs
    if amount <= 0 or amount > pending.amount:
        raise InvalidTransfer(
            f"a pending transfer of {pending.amount} fen posts between 1 and {pending.amount} fen"
        )
    if len(pending.legs) != 2:
        raise InvalidTransfer("only a two-leg pending transfer can be posted in part")
    return tuple(leg.model_copy(update={"amount": amount}) for leg in pending.legs)
