"""Settling: a payment the rail reports succeeded is posted to its case exactly once and
counted, or posted to unidentified funds, or held for review.

Whatever tells us a payment succeeded (the confirm answer, the page polling, a webhook, the
sweeper), the same ``settle`` runs, on the rail's own answer, never a webhook body. The ledger
transfer is keyed by the rail's reference, so one rail payment posts once whichever way it is
routed. The ledger posting and our own records (payment, case standing, receipt number, surplus
draft, the creditors' notice and its clock) commit in one conditional transaction, so a payment
is posted and counted together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock
from chalicelib.collection.arrivals import Arrival, ClockTeller
from chalicelib.collection.counting import Counting, Credit
from chalicelib.collection.errors import PaymentConflict, PaymentNotFound
from chalicelib.collection.models import (
    CHINA_TIME,
    ClaimStatus,
    Outcome,
    Payment,
    PaymentStatus,
    ReviewItem,
    Settlement,
    UnidentifiedPayment,
)
from chalicelib.collection.rail import PaymentRail, RailPayment, RailStatus
from chalicelib.collection.store import (
    CollectionStore,
    Contended,
    EventRecorded,
    PostedBefore,
    SettlementState,
)
from chalicelib.ledger import (
    IdempotencyConflict,
    Side,
    Transfer,
    TransferCode,
    TransferRequest,
    postings,
)
from chalicelib.money import CURRENCIES

if TYPE_CHECKING:
    from chalicelib.cases import Case
    from chalicelib.ledger import LedgerService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadAhead:
    """What a webhook read with the payment, of the case and court the rail's metadata names:
    the standing and receipt counter for ``year`` (China time), and the case for its notice."""

    state: SettlementState
    year: int
    case: Case | None


class Settling:
    """Posts and counts succeeded rail payments; safe to share."""

    def __init__(
        self,
        store: CollectionStore,
        rail: Callable[[], PaymentRail],
        clock: Clock,
        *,
        ledger: LedgerService,
        counting: Counting,
        clocks: ClockTeller,
    ) -> None:
        self._store = store
        self._rail = rail
        self._clock = clock
        self._ledger = ledger
        self._counting = counting
        self._clocks = clocks

    def settle(
        self, current: RailPayment, *, finishing: dict[str, Any] | None = None
    ) -> Settlement:
        """Post a payment the rail reports succeeded, exactly once.

        ``current`` is the rail's own answer (a retrieve, a confirm, the rail's event list),
        never a webhook body. It is checked against our payment record: an amount, currency or
        case that differs goes to review and moves nothing. ``finishing`` (the webhook event
        that told us, recorded processed) commits with the posting when this call posts it."""
        if current.status != RailStatus.SUCCEEDED:
            raise PaymentConflict("only a succeeded payment is settled")
        found = self._store.payment(current.payment_id) if current.payment_id else None
        return self.settle_found(current, found, finishing=finishing)

    def settle_found(
        self,
        current: RailPayment,
        found: tuple[Payment, str] | None,
        *,
        finishing: dict[str, Any] | None = None,
        ahead: ReadAhead | None = None,
    ) -> Settlement:
        """``settle`` with our payment record already read (None: there is none) under the
        ``payment_id`` the rail's own metadata names, as the webhook reads it together with
        its event; ``ahead`` is what was read with it of the case the metadata names, used
        only once the payment is found to be of that case."""
        if current.status != RailStatus.SUCCEEDED:
            raise PaymentConflict("only a succeeded payment is settled")
        payment = found[0] if found else None
        expected = {payment.currency} if payment else CURRENCIES
        if current.currency not in expected:
            return self._for_review(current, f"paid in {current.currency}, which is not accepted")
        if payment is None:
            return self._unidentified(current, "no payment of ours carries this reference")
        if payment.rail_reference not in (None, current.reference):
            return self._unidentified(
                current, f"payment {payment.payment_id} has another reference"
            )
        if payment.status == PaymentStatus.SUCCEEDED:
            return Settlement(Outcome.ALREADY_POSTED, payment)
        return self._settle_ours(payment, current, finishing, ahead)

    def _settle_ours(
        self,
        payment: Payment,
        current: RailPayment,
        finishing: dict[str, Any] | None,
        ahead: ReadAhead | None = None,
    ) -> Settlement:
        """Our payment, succeeded at the rail: checked against what the rail holds, then posted
        under the rail's reference and recorded in one transaction."""
        mismatch = _mismatch(payment, current)
        if mismatch:
            return self._for_review(current, mismatch)
        self._ledger.ensure_system_accounts(payment.currency)
        request = postings.rail_collection(
            rail=self._rail().name,
            reference=current.reference,
            account=payment.case.account_number,
            amount=current.amount,
            currency=payment.currency,
            payment_id=payment.payment_id,
            case_id=payment.case.case_id,
        )
        return self._record(payment, current, request, finishing, ahead)

    def _record(
        self,
        payment: Payment,
        current: RailPayment,
        request: TransferRequest,
        finishing: dict[str, Any] | None,
        ahead: ReadAhead | None,
    ) -> Settlement:
        """Post the payment and record it with its receipt number, counted toward its case, in
        one transaction: exactly once by construction. Retried when another payment of the
        same case or court, or another posting on its accounts, got there first."""
        succeeded: list[Payment] = []
        # Whether the ledger transfer is still to be posted: it exists already when an earlier
        # settlement posted it and stopped before its record (the two were once separate).
        unposted = [True]
        # The first attempt commits on what was read with the payment (the case the rail's
        # metadata names, checked above to be the payment's); a retry reads again.
        unread = [ahead] if ahead is not None else []
        # The webhook event recorded with the posting; dropped if it was recorded otherwise
        # (kept as malformed), so the payment still posts now.
        recording = [finishing] if finishing is not None else []

        def read() -> tuple[datetime, SettlementState]:
            paid_at = self._clock.now()
            year = paid_at.astimezone(CHINA_TIME).year
            first = unread.pop() if unread else None
            if first is not None and first.year == year:
                return paid_at, first.state
            case = payment.case
            return paid_at, self._store.settlement_state(case.case_id, case.court_code, year)

        def commit(before: tuple[datetime, SettlementState], credit: Credit) -> bool:
            paid_at, state = before
            year = paid_at.astimezone(CHINA_TIME).year
            seq = state.receipt_seq + 1
            paid = payment.model_copy(
                update={
                    "status": PaymentStatus.SUCCEEDED,
                    "rail_reference": current.reference,
                    "paid_at": paid_at,
                    "updated_at": paid_at,
                    "amount_received": current.amount,
                    "receipt_number": f"{payment.case.court_code}-{year}-{seq:07d}",
                    "transfer_id": request.id,
                    "failure_message": None,
                }
            )
            succeeded[:] = [paid]
            try:
                return self._store.commit_settlement(
                    paid,
                    before=state,
                    standing=credit.standing,
                    receipt=(payment.case.court_code, year, seq),
                    surplus=credit.surplus,
                    notice=credit.notice,
                    clock=credit.clock,
                    posting=self._ledger.plan_transfer(request) if unposted[0] else None,
                    also=recording[0] if recording else None,
                )
            except EventRecorded:
                recording.clear()
                raise
            except PostedBefore:
                posted = self._ledger.get_transfer(request.id)
                if payment.case.account_number not in _credited(posted):
                    # This rail payment was posted once already, to unidentified funds; it is
                    # claimed from there (认领), never posted a second time.
                    return False
                unposted[0] = False
                raise Contended("the transfer was posted before; record the payment") from None

        arrival = Arrival(payment.case, request.id, current.amount, self._clock.now())
        counted = self._counting.count_toward_case(
            arrival,
            payment.payment_id,
            read=read,
            standing_of=lambda before: before[1].standing,
            commit=commit,
            case=ahead.case if ahead is not None else None,
        )
        if not counted:
            return Settlement(Outcome.ALREADY_POSTED, self._payment(payment.payment_id))
        return Settlement(Outcome.POSTED, succeeded[0])

    def _payment(self, payment_id: str) -> Payment:
        found = self._store.payment(payment_id)
        if found is None:
            raise PaymentNotFound("there is no payment with this reference")
        return found[0]

    def _post_rail_money(self, request: TransferRequest) -> Transfer:
        """Post money from the rail, or hand back what this rail payment already posted (to a
        case or to unidentified funds): the ledger refuses a second body under the same id."""
        try:
            return self._ledger.transfer(request)
        except IdempotencyConflict:
            return self._ledger.get_transfer(request.id)

    def _unidentified(self, current: RailPayment, why: str) -> Settlement:
        """不明款: the money is real, so it is posted, but to unidentified funds, and queued."""
        rail = self._rail().name
        self._ledger.ensure_system_accounts(current.currency)
        transfer = self._post_rail_money(
            postings.unidentified_receipt(
                rail=rail,
                reference=current.reference,
                amount=current.amount,
                currency=current.currency,
                why=why,
            )
        )
        if transfer.code != TransferCode.UNIDENTIFIED_RECEIPT:
            return Settlement(Outcome.ALREADY_POSTED)  # it reached its case once already
        item = UnidentifiedPayment(
            reference=current.reference,
            rail=rail,
            amount=current.amount,
            currency=current.currency,
            received_at=self._clock.now(),
            status=ClaimStatus.OPEN,
            why=why,
            stated_account_number=current.account_number,
            receipt_transfer_id=transfer.id,
        )
        queued = self._store.add_unidentified(item)
        if queued:
            self._clocks.unidentified(item)
        return Settlement(Outcome.UNIDENTIFIED if queued else Outcome.ALREADY_POSTED)

    def _for_review(self, current: RailPayment, why: str) -> Settlement:
        """Nothing is posted: the ledger keeps CNY only. Finance decides (usually a refund)."""
        added = self._store.add_review(
            ReviewItem(
                reference=current.reference,
                rail=self._rail().name,
                amount=current.amount,
                currency=current.currency,
                received_at=self._clock.now(),
                why=why,
                payment_id=current.payment_id,
            )
        )
        if not added:
            return Settlement(Outcome.ALREADY_REVIEWED)
        log.warning("collection: payment %s held for review: %s", current.reference, why)
        return Settlement(Outcome.REVIEW)


def _credited(transfer: Transfer) -> set[str]:
    return {leg.account_id for leg in transfer.legs if leg.side == Side.CREDIT}


def _mismatch(payment: Payment, current: RailPayment) -> str | None:
    """Why the rail's payment is not the payment we opened, or ``None`` if it is."""
    if current.amount != payment.amount:
        return f"the rail received {current.amount} fen for a payment of {payment.amount} fen"
    if current.currency != payment.currency:
        return f"the rail received {current.currency} for a payment in {payment.currency}"
    if current.account_number not in (None, payment.case.account_number):
        return f"the rail names case account {current.account_number}, not the payment's"
    if current.case_id not in (None, payment.case.case_id):
        return f"the rail names case {current.case_id}, not the payment's"
    if current.court_code not in (None, payment.case.court_code):
        return f"the rail names court {current.court_code}, not the payment's"
    return None
