"""The ledger's facade: open accounts, post and reverse transfers, resolve pending ones, and
the reads, proofs and corrections other capabilities ask for.

The work is done in rooms of one job each: the posting engine (``engine``), balances and
statements (``reads``), proofs (``audit``), corrections under four eyes (``corrections``) and
the catalogue of every way money moves (``postings``). This class wires them over one store and
one account cache, so callers hold one object.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import Clock
from chalicelib.ledger import audit, postings
from chalicelib.ledger.cache import AccountCache
from chalicelib.ledger.corrections import Corrections
from chalicelib.ledger.engine import PlannedPosting, PostingEngine, mirrored
from chalicelib.ledger.errors import (
    AccountConflict,
    InvalidAccount,
    InvalidTransfer,
    LedgerError,
    PendingNotActive,
)
from chalicelib.ledger.models import (
    CASE_ACCOUNT_ID,
    Account,
    AccountBalance,
    AccountKind,
    AccountState,
    CorrectionProposal,
    Statement,
    SystemAccount,
    Transfer,
    TransferCode,
    TransferPhase,
    TransferRequest,
    VerifyReport,
)
from chalicelib.ledger.reads import LedgerReads
from chalicelib.ledger.shards import is_sharded, shard_ids
from chalicelib.ledger.store import LedgerStore
from chalicelib.money import AmountError, check_currency
from chalicelib.retry import Backoff

log = logging.getLogger(__name__)

EXPIRY_ACTOR = "system:expiry"
CLOCK_SKEW = timedelta(minutes=5)  # a counter terminal's clock may run a little ahead


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
        rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.store = LedgerStore(client, table, sleep=sleep, rng=rng)
        self.cache = AccountCache(self.store)
        self._engine = PostingEngine(
            self.store,
            clock,
            self.cache,
            max_attempts=max_attempts,
            contention=Backoff(base=0.005, cap=0.2, sleep=sleep, rng=rng),
            shards=system_shards,
        )
        self._reads = LedgerReads(self.store, self.cache)
        self._corrections = Corrections(self.store, self._engine, self.cache, clock)
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
        if self.store.open_account(state):
            self.cache.remember({account.id: state})
            return account
        existing = self.cache.read(account.id).account
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
        return self._engine.post(request, [])[0]

    def plan_transfer(self, request: TransferRequest) -> PlannedPosting:
        """Plan a transfer without committing it: its items go into the caller's transaction
        with the record the money settles, exactly once by construction (see
        ``PlannedPosting``)."""
        return self._engine.plan(request)

    def reverse(self, original_id: str, *, id: str, requested_by: str, reason: str) -> Transfer:
        """Undo a posted transfer with its mirror image; a transfer is reversed at most once."""
        original = self.get_transfer(original_id)
        try:
            request = TransferRequest(
                id=id,
                legs=mirrored(original.legs),
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
        return self._engine.get_transfer(transfer_id)

    def post_pending(
        self,
        pending_id: str,
        *,
        id: str,
        amount: int | None = None,
        requested_by: str,
    ) -> Transfer:
        """Post a pending transfer in full, or (two legs only) in part; the rest is released."""
        return self._engine.resolve(
            pending_id,
            id,
            phase=TransferPhase.POST_PENDING,
            amount=amount,
            requested_by=requested_by,
            now=self._clock.now(),
        )[0]

    def void_pending(self, pending_id: str, *, id: str, requested_by: str) -> Transfer:
        """Release a pending transfer's reservation."""
        return self._engine.resolve(
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
                _, fresh = self._engine.resolve(
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

    # -- reading and proving -----------------------------------------------------------------

    def balance(self, account_id: str) -> AccountBalance:
        return self._reads.balance(account_id)

    def balances(self, account_ids: Iterable[str]) -> dict[str, AccountBalance]:
        return self._reads.balances(account_ids)

    def transfers(self, transfer_ids: Iterable[str]) -> dict[str, Transfer]:
        return self._reads.transfers(transfer_ids)

    def balance_at(self, account_id: str, moment: datetime) -> AccountBalance:
        return self._reads.balance_at(account_id, moment)

    def statement(
        self,
        account_id: str,
        *,
        start: datetime,
        end: datetime,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Statement:
        return self._reads.statement(account_id, start=start, end=end, limit=limit, cursor=cursor)

    def verify(self, account_id: str) -> VerifyReport:
        return audit.verify(self.store, account_id)

    # -- corrections under four eyes ---------------------------------------------------------

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
        return self._corrections.propose(
            proposal_id,
            debit_account=debit_account,
            credit_account=credit_account,
            amount=amount,
            reason=reason,
            proposed_by=proposed_by,
            subject=subject,
            currency=currency,
        )

    def proposal(self, proposal_id: str) -> CorrectionProposal:
        return self._corrections.proposal(proposal_id)

    def open_proposals(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[CorrectionProposal], str | None]:
        return self._corrections.open_proposals(limit=limit, cursor=cursor)

    def post_correction(self, proposal_id: str, *, posted_by: str, subject: str) -> Transfer:
        return self._corrections.post(proposal_id, posted_by=posted_by, subject=subject)

    def reject_correction(
        self, proposal_id: str, *, rejected_by: str, subject: str, reason: str
    ) -> CorrectionProposal:
        return self._corrections.reject(
            proposal_id, rejected_by=rejected_by, subject=subject, reason=reason
        )

    # -- money into a case that two people decided -------------------------------------------

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
            postings.counter_cash_entry(
                id=id,
                account=account_id,
                amount=amount,
                currency=currency,
                receipt_no=receipt_no,
                received_at=received_at,
                entered_by=entered_by,
                confirmed_by=confirmed_by,
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
        return self.transfer(
            postings.unidentified_claim(
                id=id,
                account=account_id,
                amount=amount,
                currency=currency,
                claimed_by=claimed_by,
                confirmed_by=confirmed_by,
                reason=reason,
                payment_ref=payment_ref,
            )
        )

    def _require_case_account(self, account_id: str) -> None:
        state = self.cache.get(account_id) or self.cache.read(account_id)
        if state.account.kind != AccountKind.CASE:
            raise InvalidAccount(f"account {account_id} is not a case account")


def _check_currency(currency: str) -> None:
    try:
        check_currency(currency)
    except AmountError as exc:
        raise InvalidAccount(str(exc)) from exc
