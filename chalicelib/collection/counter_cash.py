"""Counter cash (现场交款补录) under four eyes: one person enters the cash taken at the counter,
another (finance) confirms it before it moves in the ledger and counts toward the case.

The confirmation is the entry's approval chain (``ChainKind.COUNTER_CASH`` in the approvals
capability): by default one step, finance, never the person who entered it; a court's tiers
may add an approver above an amount. The chain decides; the entry and the ledger act on it.

An entry must name the paper receipt the court handed the payer (one number per court), a time
that is neither in the future nor older than the configured window, and an amount under the
configured plausibility ceiling; a concluded case takes none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.approvals import (
    ApprovalExists,
    ChainKind,
    approval_id,
)
from chalicelib.cases import CaseStatus
from chalicelib.collection.errors import (
    AlreadyDecided,
    CaseNotPayable,
    CounterCashRefused,
    EntryIdTaken,
    EntryNotFound,
    ReceiptNumberTaken,
)
from chalicelib.collection.four_eyes import FourEyesDesk
from chalicelib.collection.models import CashEntry, CounterCash, Decision
from chalicelib.money import Money, format_yuan

if TYPE_CHECKING:
    from chalicelib.approvals import ApprovalService
    from chalicelib.cases import CaseService
    from chalicelib.clock import Clock
    from chalicelib.collection.decision_store import DecisionStore
    from chalicelib.collection.service import CollectionService
    from chalicelib.identity import Principal

# A counter terminal's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)


class CounterCashDesk(FourEyesDesk[CashEntry, CounterCash]):
    """Enter, confirm, reject and return counter cash; every answer can be asked for again. A
    rejected entry frees its receipt number."""

    named = "entry {key}"
    yours = "you entered {key}"

    def __init__(
        self,
        collection: CollectionService,
        decisions: DecisionStore,
        cases: CaseService,
        clock: Clock,
        *,
        approvals: ApprovalService,
        ceiling: int,
        max_age: timedelta,
    ) -> None:
        super().__init__(collection, decisions, cases, clock, approvals=approvals)
        self._ceiling = ceiling
        self._max_age = max_age

    def enter(
        self,
        *,
        id: str,
        account_number: str,
        amount: int,
        receipt_no: str,
        received_at: datetime,
        by: Principal,
    ) -> CashEntry:
        """Record the entry; nothing moves yet. The same entry sent again (also while the
        first is in flight) gets the first answer."""
        case = self._cases.find_by_account_number(account_number)
        if case.status == CaseStatus.CONCLUDED:
            raise CaseNotPayable(
                f"case {case.case_number} is concluded and takes no money",
                case_status=case.status.value,
            )
        self._check(amount, received_at)
        entry = CashEntry(
            id=id,
            case_id=case.case_id,
            court_code=case.court_code,
            account_number=case.account_number,
            amount=amount,
            currency=case.currency,
            receipt_no=receipt_no,
            received_at=received_at,
            entered_by=by.actor,
            entered_by_subject=by.subject,
            entered_at=self._clock.now(),
        )
        try:
            chain = self._approvals.plan_open(
                ChainKind.COUNTER_CASH, id, court=case.court_code,
                amount=Money(amount, case.currency), requester=by,
                summary=f"{case.case_number} 收据 {receipt_no}",
            )  # fmt: skip
        except ApprovalExists as error:
            raise EntryIdTaken(f"the entry id {id} was already used for another entry") from error
        if self._decisions.add_cash_entry(entry, also=chain.writes):
            return entry
        existing = self._decisions.cash_entry(id)
        if existing is not None:
            if existing.same_entry(entry):
                return existing
            raise EntryIdTaken(f"the entry id {id} was already used for another entry")
        holder = self._decisions.receipt_holder(case.court_code, receipt_no)
        raise ReceiptNumberTaken(
            f"receipt {receipt_no} was already entered at court {case.court_code}",
            entry_id=holder,
        )

    def _check(self, amount: int, received_at: datetime) -> None:
        now = self._clock.now()
        if received_at > now + CLOCK_SKEW:
            raise CounterCashRefused("cash cannot have been received in the future")
        if received_at < now - self._max_age:
            raise CounterCashRefused(
                f"cash taken more than {self._max_age.days} days ago is not entered here; "
                "it needs a correction with its paper trail"
            )
        if amount > self._ceiling:
            raise CounterCashRefused(
                f"{format_yuan(amount)} yuan is above the {format_yuan(self._ceiling)} yuan a "
                "counter can take at once; check the amount",
                ceiling=self._ceiling,
            )

    def entry(self, entry_id: str) -> CashEntry:
        found = self._decisions.cash_entry(entry_id)
        if found is None:
            raise EntryNotFound(f"there is no counter-cash entry {entry_id}")
        return found

    def entries(self, status: Decision, *, limit: int) -> list[CashEntry]:
        return self._decisions.cash_entries(status, limit=limit)

    def _find(self, key: str) -> CashEntry:
        return self.entry(key)

    def _chain(self, entry: CashEntry) -> str:
        return approval_id(ChainKind.COUNTER_CASH, entry.id)

    def _requester(self, entry: CashEntry) -> str:
        return entry.entered_by_subject

    def _save_decision(self, decided: CashEntry, *, also: tuple[dict[str, Any], ...]) -> bool:
        return self._decisions.decide_cash_entry(decided, also=also)

    def _refuse_confirmation(self, entry: CashEntry, key: str, *, by: Principal) -> None:
        if entry.status == Decision.CONFIRMED and entry.decider_subject != by.subject:
            raise AlreadyDecided(f"entry {key} was confirmed by {entry.decided_by}")

    def _move(
        self, entry: CashEntry, *, by: Principal
    ) -> tuple[CounterCash, str | None, datetime | None]:
        counted = self._collection.count_counter_cash(entry, confirmed_by=by.actor)
        return counted, counted.confirmed_by, counted.counted_at
