"""The ledger's use cases: open accounts, post transfers (one TransactWriteItems each), resolve
pending transfers, and read balances, statements and proofs.

Concurrency is optimistic. The service keeps the last known state of each account it touched;
a posting computes the new counters, entries and hashes from that state and commits them with
every account update conditional on the sequence number it started from. A stale state (another
process posted meanwhile) cancels the transaction; the service re-reads the accounts and tries
again, a bounded number of times with jittered backoff. Because the balance guard is checked on
exactly the state the condition pins, an overdraft can never be committed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from chalicelib.clock import Clock, isoformat
from chalicelib.ledger import shard_reads
from chalicelib.ledger.errors import (
    AccountConflict,
    AccountNotFound,
    AlreadyReversed,
    ConcurrencyExhausted,
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAccount,
    InvalidQuery,
    InvalidTransfer,
    LedgerError,
    PendingExpired,
    PendingNotActive,
    ProposalNotFound,
    ProposalNotOpen,
    SameActor,
    TransferNotFound,
)
from chalicelib.ledger.models import (
    CASE_ACCOUNT_ID,
    Account,
    AccountBalance,
    AccountKind,
    AccountState,
    BreakKind,
    CorrectionProposal,
    Counters,
    Entry,
    Leg,
    PendingState,
    ProposalStatus,
    Side,
    Statement,
    StatementLine,
    SystemAccount,
    Transfer,
    TransferCode,
    TransferPhase,
    TransferRequest,
    VerifyReport,
    canonical_json,
    check_against_transfers,
    sha256_hex,
    verify_chain,
)
from chalicelib.ledger.shards import is_sharded, shard_for, shard_ids
from chalicelib.ledger.store import (
    PROPOSAL_SK,
    STATE_SK,
    Cancelled,
    LedgerStore,
    account_pk,
    proposal_pk,
    state_item_values,
)
from chalicelib.money import AmountError, check_currency
from chalicelib.retry import Backoff

log = logging.getLogger(__name__)

EXPIRY_ACTOR = "system:expiry"
CLOCK_SKEW = timedelta(minutes=5)  # a counter terminal's clock may run a little ahead
MAX_STATEMENT_PAGE = 500
MAX_CACHED_ACCOUNTS = 10_000  # about 1 KB each; system accounts stay hot, so stay cached
_RESOLVED_STATE = {
    TransferPhase.POST_PENDING: PendingState.POSTED,
    TransferPhase.VOID_PENDING: PendingState.VOIDED,
    TransferPhase.EXPIRE_PENDING: PendingState.EXPIRED,
}


@dataclass(frozen=True)
class _Guard:
    """An extra conditional item committed with a transfer, and what its failure means."""

    item: dict[str, Any]
    on_failed: Callable[[], NoReturn]


@dataclass(frozen=True)
class _Plan:
    before: dict[str, AccountState]
    after: dict[str, AccountState]
    entries: list[Entry]


class LedgerService:
    """The ledger over one DynamoDB table. Safe to share: a stale cached state only costs a
    retry, because every write is conditional on the state it was computed from."""

    def __init__(
        self,
        client: Any,
        table: str,
        clock: Clock,
        *,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        system_shards: int = 1,
    ) -> None:
        self._clock = clock
        self._shards = system_shards
        self._max_attempts = max_attempts
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._contention = Backoff(base=0.005, cap=0.2, sleep=sleep, rng=self._rng)
        self.store = LedgerStore(client, table, sleep=sleep, rng=self._rng)
        self._states: dict[str, AccountState] = {}
        self._cache_lock = threading.Lock()
        self._system_ready: set[str] = set()

    # -- accounts ----------------------------------------------------------------------------

    def ensure_system_accounts(self, currency: str = "CNY") -> None:
        """Create the court's system accounts for ``currency`` if they do not exist yet.

        Unidentified funds may not go below zero either: a claim can hand out only money that
        arrived. The other system accounts mirror money outside the ledger and have no limit.
        """
        if currency in self._system_ready:
            return
        _check_currency(currency)
        for system in SystemAccount:
            base = system.of(currency)
            for account_id in shard_ids(base, self._shards) if is_sharded(base) else [base]:
                self._open(
                    Account(
                        id=account_id,
                        kind=AccountKind.SYSTEM,
                        currency=currency,
                        no_overdraft=system == SystemAccount.UNIDENTIFIED_FUNDS,
                        created_at=self._clock.now(),
                    )
                )
        self._system_ready.add(currency)

    def open_case_account(self, account_id: str, *, case_id: str, currency: str = "CNY") -> Account:
        """Open the account of one case (一案一账号); opening it again returns the same account."""
        if not CASE_ACCOUNT_ID.match(account_id):
            raise InvalidAccount(f"a case account number has 16 digits, not {account_id!r}")
        _check_currency(currency)
        return self._open(
            Account(
                id=account_id,
                kind=AccountKind.CASE,
                currency=currency,
                case_id=case_id,
                no_overdraft=True,
                created_at=self._clock.now(),
            )
        )

    def _open(self, account: Account) -> Account:
        state = AccountState(account=account)
        if self.store.put_new(account_pk(account.id), STATE_SK, state_item_values(state)):
            self._remember({account.id: state})
            return account
        existing = self._read_state(account.id).account
        same = (existing.kind, existing.case_id, existing.currency) == (
            account.kind,
            account.case_id,
            account.currency,
        )
        if not same:
            raise AccountConflict(
                f"account {account.id} already exists for "
                f"{existing.case_id or existing.kind.value} in {existing.currency}",
                account_id=account.id,
            )
        return existing

    # -- transfers ---------------------------------------------------------------------------

    def transfer(self, request: TransferRequest) -> Transfer:
        """Post (or, if ``request.pending``, reserve) a transfer, exactly once per id."""
        return self._post_request(request, [])[0]

    def reverse(self, original_id: str, *, id: str, requested_by: str, reason: str) -> Transfer:
        """Undo a posted transfer with its mirror image; a transfer is reversed at most once."""
        original = self.get_transfer(original_id)
        try:
            request = TransferRequest(
                id=id,
                legs=_mirrored(original.legs),
                currency=original.currency,
                code=TransferCode.REVERSAL,
                requested_by=requested_by,
                metadata={"reason": reason},
                reverses=original_id,
            )
        except ValueError as exc:
            raise InvalidTransfer(f"the reversal is not valid: {exc}") from exc
        return self.transfer(request)

    def get_transfer(self, transfer_id: str) -> Transfer:
        found = self.store.transfer(transfer_id)
        if found is None:
            raise TransferNotFound(f"no transfer {transfer_id}", transfer_id=transfer_id)
        return found[0]

    def post_pending(
        self,
        pending_id: str,
        *,
        id: str,
        amount: int | None = None,
        requested_by: str,
    ) -> Transfer:
        """Post a pending transfer in full, or (two legs only) in part; the rest is released."""
        return self._resolve(
            pending_id,
            id,
            phase=TransferPhase.POST_PENDING,
            amount=amount,
            requested_by=requested_by,
            now=self._clock.now(),
        )[0]

    def void_pending(self, pending_id: str, *, id: str, requested_by: str) -> Transfer:
        """Release a pending transfer's reservation."""
        return self._resolve(
            pending_id,
            id,
            phase=TransferPhase.VOID_PENDING,
            amount=None,
            requested_by=requested_by,
            now=self._clock.now(),
        )[0]

    def expire_pending(self, now: datetime | None = None) -> int:
        """The sweeper: release every pending transfer whose timeout has passed; return how
        many this call expired. Each pending transfer expires exactly once, however many
        sweepers run, because the resolution is conditional on it still being pending."""
        moment = now or self._clock.now()
        expired = 0
        for pending_id in list(self.store.due_pending(moment)):
            try:
                _, fresh = self._resolve(
                    pending_id,
                    f"{pending_id}:expired",
                    phase=TransferPhase.EXPIRE_PENDING,
                    amount=None,
                    requested_by=EXPIRY_ACTOR,
                    now=moment,
                )
            except PendingNotActive:
                continue
            except LedgerError:
                # one transfer that cannot expire now (its resolution id taken, its accounts
                # too busy) must not hold back every other reservation that is due
                log.exception("pending transfer %s could not be expired", pending_id)
                continue
            expired += fresh
        return expired

    def _post_request(
        self, request: TransferRequest, guards: list[_Guard]
    ) -> tuple[Transfer, bool]:
        now = self._clock.now()
        if request.reverses is not None:
            try:
                guards = [*guards, self._reversal_guard(request)]
            except LedgerError:
                self._replay(request.id, request.fingerprint())  # a reused id says so first
                raise
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
        deltas = {leg.account_id: _leg_delta(leg, pending=request.pending) for leg in legs}
        return self._commit(transfer, request.fingerprint(), deltas, guards)

    def _reversal_guard(self, request: TransferRequest) -> _Guard:
        original_id = str(request.reverses)
        original = self.get_transfer(original_id)
        if original.phase not in (TransferPhase.POSTED, TransferPhase.POST_PENDING):
            raise InvalidTransfer(
                f"transfer {original_id} is {original.phase.value}; only posted money is reversed"
            )
        if _leg_set(request.legs) != _leg_set(_mirrored(original.legs)):
            raise InvalidTransfer(f"a reversal mirrors every leg of transfer {original_id}")
        if request.currency != original.currency:
            raise CurrencyMismatch(f"transfer {original_id} is in {original.currency}")
        reversed_by = self.store.reversal_of(original_id)
        if reversed_by not in (None, request.id):
            raise AlreadyReversed(
                f"transfer {original_id} was already reversed by {reversed_by}",
                transfer_id=original_id,
            )

        def already_reversed() -> NoReturn:
            raise AlreadyReversed(
                f"transfer {original_id} was already reversed by "
                f"{self.store.reversal_of(original_id)}",
                transfer_id=original_id,
            )

        return _Guard(self.store.reversal_guard_item(original_id, request.id), already_reversed)

    def _resolve(
        self,
        pending_id: str,
        resolution_id: str,
        *,
        phase: TransferPhase,
        amount: int | None,
        requested_by: str,
        now: datetime,
    ) -> tuple[Transfer, bool]:
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
            self._replay(resolution_id, fingerprint)
        pending = self.get_transfer(pending_id)
        if pending.phase != TransferPhase.PENDING:
            raise InvalidTransfer(f"transfer {pending_id} is not a pending transfer")
        if pending.state != PendingState.PENDING:
            replayed = self._replay(resolution_id, fingerprint)
            if replayed is not None:
                return replayed, False
            self._raise_not_pending(pending)
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
            release = _leg_delta(reserved, pending=True)
            release = Counters(
                debits_pending=-release.debits_pending, credits_pending=-release.credits_pending
            )
            posted = (
                _leg_delta(resolved, pending=False)
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
            self._raise_not_pending(self.get_transfer(pending_id))

        guard = _Guard(
            self.store.resolve_pending_item(pending_id, _RESOLVED_STATE[phase], resolution_id),
            no_longer_pending,
        )
        return self._commit(resolution, fingerprint, deltas, [guard])

    @staticmethod
    def _raise_not_pending(pending: Transfer) -> NoReturn:
        state = pending.state.value if pending.state else "unknown"
        error = PendingExpired if pending.state == PendingState.EXPIRED else PendingNotActive
        raise error(
            f"pending transfer {pending.id} is already {state} (by {pending.resolved_by})",
            transfer_id=pending.id,
            state=state,
        )

    def _commit(
        self,
        transfer: Transfer,
        fingerprint: str,
        deltas: dict[str, Counters],
        guards: list[_Guard],
    ) -> tuple[Transfer, bool]:
        """Commit a transfer with its account updates, entries and guards in one transaction;
        return it and whether this call posted it (False: an idempotent replay)."""
        account_ids = sorted(deltas)
        for attempt in range(self._max_attempts):
            cached: set[str] = set()
            try:
                states, cached = self._states_for(account_ids, transfer.currency)
                plan = self._plan(transfer, states, deltas)
            except LedgerError as exc:
                short_account = exc.extensions.get("account_id")
                if isinstance(exc, InsufficientFunds) and short_account in cached:
                    self._forget([short_account])  # refused on a cached balance: look again
                    continue
                # a replay of a request that once posted still gets its answer
                replayed = self._replay(transfer.id, fingerprint)
                if replayed is not None:
                    return replayed, False
                raise
            seqs = {entry.account_id: entry.seq for entry in plan.entries}
            items = [self.store.new_transfer_item(transfer, fingerprint, seqs)]
            items += [
                self.store.state_update_item(plan.before[i], plan.after[i]) for i in account_ids
            ]
            items += [self.store.new_entry_item(entry) for entry in plan.entries]
            items += [guard.item for guard in guards]
            try:
                self.store.commit(items)
            except Cancelled as cancelled:
                if cancelled.refused:
                    raise LedgerError(
                        f"the ledger could not store transfer {transfer.id}: an item was "
                        "refused as invalid; nothing was posted"
                    ) from cancelled
                if cancelled.failed(0):
                    self._forget(account_ids)
                    replayed = self._replay(transfer.id, fingerprint)
                    if replayed is not None:
                        return replayed, False
                # items: transfer, one state per account, one entry per account, guards
                count = len(account_ids)
                stale_accounts = {
                    account_id
                    for k, account_id in enumerate(account_ids)
                    if cancelled.failed(1 + k) or cancelled.failed(1 + count + k)
                }
                for index, guard in enumerate(guards, start=1 + 2 * count):
                    if cancelled.failed(index) and not stale_accounts:
                        guard.on_failed()
                contended = cancelled.contended or not stale_accounts
                self._forget(account_ids if contended else stale_accounts)
                self._backoff(attempt)
                continue
            self._remember(plan.after)
            return transfer, True
        raise ConcurrencyExhausted(
            f"transfer {transfer.id} met concurrent updates {self._max_attempts} times; "
            "nothing was posted, try again",
            transfer_id=transfer.id,
        )

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

    def _replay(self, transfer_id: str, fingerprint: str) -> Transfer | None:
        """The recorded transfer if this id was used with the same request; a conflict error
        if it was used with another; None if the id is unused."""
        found = self.store.transfer(transfer_id)
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

    def _states_for(
        self, account_ids: list[str], currency: str
    ) -> tuple[dict[str, AccountState], set[str]]:
        """The accounts' states, from the cache where known (read otherwise), and which of
        them came from the cache."""
        states = {i: s for i in account_ids if (s := self._states.get(i)) is not None}
        cached = set(states)
        missing = [i for i in account_ids if i not in cached]
        if missing:
            read = self.store.account_states(missing)
            for account_id in missing:
                if account_id not in read:
                    raise AccountNotFound(f"no ledger account {account_id}", account_id=account_id)
            self._remember(read)
            states.update(read)
        for state in states.values():
            if state.account.currency != currency:
                raise CurrencyMismatch(
                    f"account {state.account.id} holds {state.account.currency}, not {currency}",
                    account_id=state.account.id,
                )
        return states, cached

    def _remember(self, states: dict[str, AccountState]) -> None:
        """Cache account states, most recent last, dropping the oldest beyond the bound so a
        long-lived process does not grow without limit."""
        with self._cache_lock:
            for account_id, state in states.items():
                self._states.pop(account_id, None)
                self._states[account_id] = state
            while len(self._states) > MAX_CACHED_ACCOUNTS:
                self._states.pop(next(iter(self._states)))

    def _forget(self, account_ids: Iterable[str]) -> None:
        with self._cache_lock:
            for account_id in account_ids:
                self._states.pop(account_id, None)

    def _backoff(self, attempt: int) -> None:
        self._contention.pause(attempt)

    def _read_state(self, account_id: str) -> AccountState:
        """The account's state read consistently, which also refreshes the cache."""
        state = self.store.account_state(account_id)
        if state is None:
            raise AccountNotFound(f"no ledger account {account_id}", account_id=account_id)
        self._remember({account_id: state})
        return state

    # -- reading -----------------------------------------------------------------------------

    def balance(self, account_id: str) -> AccountBalance:
        """The account's current balance, read consistently (of all its shards, for a
        sharded system account)."""
        if is_sharded(account_id):
            return shard_reads.balance(self.store, account_id)
        state = self._read_state(account_id)
        return AccountBalance.of(
            account_id, state.account.currency, state.seq, state.totals, state.last_at
        )

    def balances(self, account_ids: Iterable[str]) -> dict[str, AccountBalance]:
        """Current balances of many accounts in batched consistent reads (unknown ones are
        left out): reconciliation checks every case account a day touched."""
        states = self.store.account_states(sorted(set(account_ids)))
        return {
            account_id: AccountBalance.of(
                account_id, state.account.currency, state.seq, state.totals, state.last_at
            )
            for account_id, state in states.items()
        }

    def transfers(self, transfer_ids: Iterable[str]) -> dict[str, Transfer]:
        """Recorded transfers by id in batched reads (unknown ids are left out)."""
        return self.store.transfers(set(transfer_ids))

    def balance_at(self, account_id: str, moment: datetime) -> AccountBalance:
        """The balance as it stood at ``moment``, from the last entry at or before it."""
        if is_sharded(account_id):
            return shard_reads.balance_at(self.store, account_id, moment)
        state = self._read_state(account_id)
        entry = self.store.last_entry_before(account_id, moment)
        if entry is None:
            return AccountBalance.of(account_id, state.account.currency, 0, Counters(), moment)
        return AccountBalance.of(account_id, state.account.currency, entry.seq, entry.after, moment)

    def statement(
        self,
        account_id: str,
        *,
        start: datetime,
        end: datetime,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Statement:
        """The account's entries with ``start <= time < end``, oldest first, each with the
        running balance after it; ``next_cursor`` fetches the next page."""
        if not 1 <= limit <= MAX_STATEMENT_PAGE:
            raise InvalidQuery(f"a statement page holds 1 to {MAX_STATEMENT_PAGE} lines")
        if end <= start:
            raise InvalidQuery("a statement's end must be after its start")
        if is_sharded(account_id):
            lines, next_cursor = shard_reads.statement_lines(
                self.store, account_id, start=start, end=end, limit=limit, cursor=cursor
            )
            currency = self._read_state(account_id).account.currency
            return Statement(
                account_id=account_id,
                currency=currency,
                lines=tuple(lines),
                next_cursor=next_cursor,
            )
        state = self._read_state(account_id)
        entries, next_cursor = self.store.entries_between(
            account_id, start, end, limit=limit, cursor=cursor
        )
        return Statement(
            account_id=account_id,
            currency=state.account.currency,
            lines=tuple(
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
                    balance=entry.after.posted,
                    available=entry.after.available,
                )
                for entry in entries
            ),
            next_cursor=next_cursor,
        )

    def verify(self, account_id: str) -> VerifyReport:
        """Recompute the account's hash chain and balances from its entries, then check every
        entry against the transfer record it names (each shard of a sharded account)."""
        if is_sharded(account_id):
            states = shard_reads.shard_states(self.store, account_id)
            return shard_reads.verify(account_id, states, self._verify_one)
        return self._verify_one(account_id)

    def _verify_one(self, account_id: str) -> VerifyReport:
        # The state first, then the entries: a posting that commits between the two reads
        # adds entries beyond the state's sequence, which the state read again confirms, and
        # those are left for the next verify. Read the other way round, a live account would
        # seem to have lost its newest entry.
        state: AccountState | None = self.store.account_state(account_id)
        stored = self.store.audit_entries(account_id)
        if state is None and not stored:
            raise AccountNotFound(f"no ledger account {account_id}", account_id=account_id)
        if state is not None and stored and stored[-1][0] > state.seq:
            later = self.store.account_state(account_id)
            if later is not None and later.seq >= stored[-1][0]:
                stored = [(key_seq, entry) for key_seq, entry in stored if key_seq <= state.seq]
        report = verify_chain(account_id, stored, state)
        # the entries the chain vouches for, checked against their transfers: an entry that
        # disagrees with its transfer comes before a later chain break or the stored state
        entries = [entry for _, entry in stored[: report.entries_checked] if entry is not None]
        if not entries:
            return report
        transfers = self.store.transfers({entry.transfer_id for entry in entries})
        pending_ids = {t.pending_id for t in transfers.values() if t.pending_id} - set(transfers)
        transfers |= self.store.transfers(pending_ids) if pending_ids else {}
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

    # -- staff transfers ---------------------------------------------------------------------

    def propose_correction(
        self,
        proposal_id: str,
        *,
        debit_account: str,
        credit_account: str,
        amount: int,
        reason: str,
        proposed_by: str,
        subject: str,
        currency: str = "CNY",
    ) -> CorrectionProposal:
        """A clerk proposes a manual correction; nothing moves until finance posts it.
        ``proposed_by`` names the person in the trail; ``subject`` (the sign-in token's subject)
        is who they are, which four eyes compare: a display name can be changed."""
        if debit_account == credit_account:
            raise InvalidTransfer("a correction moves money between two different accounts")
        self._states_for(sorted({debit_account, credit_account}), currency)  # exist, same currency
        try:
            proposal = CorrectionProposal(
                id=proposal_id,
                debit_account=debit_account,
                credit_account=credit_account,
                amount=amount,
                currency=currency,
                reason=reason,
                proposed_by=proposed_by,
                proposer_subject=subject,
                proposed_at=self._clock.now(),
            )
        except ValueError as exc:
            raise InvalidTransfer(f"the correction is not valid: {exc}") from exc
        if self.store.put_new(
            proposal_pk(proposal_id), PROPOSAL_SK, self.store.proposal_values(proposal)
        ):
            return proposal
        existing = self.proposal(proposal_id)
        fields = (
            "debit_account",
            "credit_account",
            "amount",
            "currency",
            "reason",
            "proposer_subject",
        )
        if any(getattr(existing, f) != getattr(proposal, f) for f in fields):
            raise IdempotencyConflict(
                f"proposal id {proposal_id} was already used for a different correction",
                proposal_id=proposal_id,
            )
        return existing

    def proposal(self, proposal_id: str) -> CorrectionProposal:
        found = self.store.proposal(proposal_id)
        if found is None:
            raise ProposalNotFound(f"no correction proposal {proposal_id}")
        return found

    def open_proposals(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[CorrectionProposal], str | None]:
        page = self.store.open_proposals(limit=limit, cursor=cursor)
        return [CorrectionProposal.model_validate(item) for item in page.items], page.cursor

    def post_correction(self, proposal_id: str, *, posted_by: str, subject: str) -> Transfer:
        """Finance posts a proposed correction; the proposer (by token subject) may not post
        their own, whatever name either token carries."""
        proposal = self.proposal(proposal_id)
        if proposal.proposer_subject == subject:
            raise SameActor(f"{posted_by} proposed correction {proposal_id} and may not post it")
        transfer_id = f"correction-{proposal_id}"
        if proposal.status == ProposalStatus.POSTED and proposal.decider_subject == subject:
            return self.get_transfer(transfer_id)
        if proposal.status != ProposalStatus.OPEN:
            raise ProposalNotOpen(
                f"correction {proposal_id} is already {proposal.status.value} "
                f"by {proposal.decided_by}"
            )
        request = TransferRequest.between(
            id=transfer_id,
            debit=proposal.debit_account,
            credit=proposal.credit_account,
            amount=proposal.amount,
            code=TransferCode.CORRECTION,
            requested_by=posted_by,
            currency=proposal.currency,
            metadata={
                "proposal_id": proposal_id,
                "proposed_by": proposal.proposed_by,
                "reason": proposal.reason,
            },
        )
        decided = proposal.model_copy(
            update={
                "status": ProposalStatus.POSTED,
                "decided_by": posted_by,
                "decider_subject": subject,
                "decided_at": self._clock.now(),
                "transfer_id": transfer_id,
            }
        )
        return self._post_request(
            request,
            [_Guard(self.store.decide_proposal_item(decided), self._proposal_decided(proposal_id))],
        )[0]

    def reject_correction(
        self, proposal_id: str, *, rejected_by: str, subject: str, reason: str
    ) -> CorrectionProposal:
        """Finance turns a proposal down, with a reason; nothing is posted. Not the proposer
        (by token subject)."""
        proposal = self.proposal(proposal_id)
        if proposal.proposer_subject == subject:
            raise SameActor(
                f"{rejected_by} proposed correction {proposal_id} and may not decide it"
            )
        decided = proposal.model_copy(
            update={
                "status": ProposalStatus.REJECTED,
                "decided_by": rejected_by,
                "decider_subject": subject,
                "decided_at": self._clock.now(),
                "decision_reason": reason,
            }
        )
        try:
            self.store.commit([self.store.decide_proposal_item(decided)])
        except Cancelled:
            self._proposal_decided(proposal_id)()
        return decided

    def _proposal_decided(self, proposal_id: str) -> Callable[[], NoReturn]:
        def raise_decided() -> NoReturn:
            current = self.proposal(proposal_id)
            raise ProposalNotOpen(
                f"correction {proposal_id} is already {current.status.value} "
                f"by {current.decided_by}"
            )

        return raise_decided

    def enter_counter_cash(
        self,
        *,
        id: str,
        account_id: str,
        amount: int,
        receipt_no: str,
        received_at: datetime,
        entered_by: str,
        confirmed_by: str,
        currency: str = "CNY",
    ) -> Transfer:
        """现场交款补录: cash taken at the counter is entered back into the case account, as
        entered by one person and confirmed by another."""
        if received_at > self._clock.now() + CLOCK_SKEW:
            raise InvalidTransfer("cash cannot have been received in the future")
        self._require_case_account(account_id)
        return self.transfer(
            TransferRequest.between(
                id=id,
                debit=SystemAccount.CASH_AT_COUNTER.of(currency),
                credit=account_id,
                amount=amount,
                code=TransferCode.CASH_BACK_ENTRY,
                requested_by=entered_by,
                currency=currency,
                metadata={
                    "receipt_no": receipt_no,
                    "received_at": isoformat(received_at),
                    "confirmed_by": confirmed_by,
                },
            )
        )

    def claim_unidentified(
        self,
        *,
        id: str,
        account_id: str,
        amount: int,
        claimed_by: str,
        confirmed_by: str,
        reason: str,
        payment_ref: str | None = None,
        currency: str = "CNY",
    ) -> Transfer:
        """认领: move money that arrived without a recognisable case to the case it belongs to,
        as proposed by one person and confirmed by another."""
        self._require_case_account(account_id)
        metadata = {"reason": reason, "confirmed_by": confirmed_by}
        if payment_ref:
            metadata["payment_ref"] = payment_ref
        return self.transfer(
            TransferRequest.between(
                id=id,
                debit=SystemAccount.UNIDENTIFIED_FUNDS.of(currency),
                credit=account_id,
                amount=amount,
                code=TransferCode.UNIDENTIFIED_CLAIM,
                requested_by=claimed_by,
                currency=currency,
                metadata=metadata,
            )
        )

    def _require_case_account(self, account_id: str) -> None:
        state = self._states.get(account_id) or self._read_state(account_id)
        if state.account.kind != AccountKind.CASE:
            raise InvalidAccount(f"account {account_id} is not a case account")


def _check_currency(currency: str) -> None:
    try:
        check_currency(currency)
    except AmountError as exc:
        raise InvalidAccount(str(exc)) from exc


def _leg_delta(leg: Leg, *, pending: bool) -> Counters:
    if leg.side == Side.DEBIT:
        return (
            Counters(debits_pending=leg.amount) if pending else Counters(debits_posted=leg.amount)
        )
    return Counters(credits_pending=leg.amount) if pending else Counters(credits_posted=leg.amount)


def _mirrored(legs: tuple[Leg, ...]) -> tuple[Leg, ...]:
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
