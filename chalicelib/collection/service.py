"""Online collection's use cases: start a payment, confirm it, follow the rail, settle it into
the case account exactly once, sweep what webhooks missed, claim unidentified money, and count
cash taken at the counter.

Settling is the heart: whatever tells us a payment succeeded (the confirm answer, the page
polling, a webhook, the sweeper), the same ``settle`` runs. The ledger transfer id is derived
from our payment id, so the ledger posts it once; our own records (payment, case standing,
receipt number, surplus draft, paid-in-full notice) then move in one conditional transaction.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.cases import CaseStatus
from chalicelib.cases.identifiers import normalise_account_number
from chalicelib.clock import Clock, isoformat
from chalicelib.collection.errors import (
    AmountRefused,
    CaseNotPayable,
    ClaimAlreadySettled,
    ClaimNotFound,
    CollectionBusy,
    PaymentConflict,
    PaymentDeclined,
    PaymentNotFound,
)
from chalicelib.collection.models import (
    CHINA_TIME,
    OPEN_STATUSES,
    CaseSnapshot,
    CaseStanding,
    CashEntry,
    ClaimStatus,
    CounterCash,
    MalformedEventRecord,
    Notice,
    NoticeStatus,
    Payment,
    PaymentStatus,
    ReviewItem,
    Settlement,
    StartPayment,
    SurplusDraft,
    SweepReport,
    UnidentifiedPayment,
)
from chalicelib.collection.rail import (
    BrowserSetup,
    MalformedEvent,
    PaymentRail,
    RailEvent,
    RailEventKind,
    RailPayment,
    RailStatus,
)
from chalicelib.collection.store import CollectionStore, Contended
from chalicelib.ledger import (
    IdempotencyConflict,
    Side,
    SystemAccount,
    Transfer,
    TransferCode,
    TransferNotFound,
    TransferRequest,
)
from chalicelib.money import CURRENCIES, format_yuan
from chalicelib.notifications import Channel, Notification, Notifier, Recipient
from chalicelib.problems import BadRequest

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chalicelib.cases import Case, CaseService
    from chalicelib.collection.arrivals import ArrivalClocks
    from chalicelib.ledger import LedgerService

log = logging.getLogger(__name__)

PAID_IN_FULL = "case.paid_in_full"
MAX_ATTEMPTS = 6
SWEEP_OVERLAP = timedelta(minutes=15)  # rail and our clocks disagree a little; re-reading is free
RAIL_EVENT_RETENTION = timedelta(days=30)  # Stripe lists events of the last 30 days only
# The payment id is derived from the key, the (public) account number and the client, and a
# replay hands the payment back: a key must be random (a version 4 UUID, as the pay page makes
# with crypto.randomUUID()), and another client sending the same key gets a payment of its own.
_IDEMPOTENCY_KEY = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE
)


@dataclass(frozen=True)
class CaseOverview:
    """What the pay page shows: the case's public facts and what has been paid."""

    case: CaseSnapshot
    status: str
    standing: CaseStanding

    @property
    def accepts_payments(self) -> bool:
        return self.status == CaseStatus.OPEN.value


@dataclass(frozen=True)
class PaymentStep:
    """A payment after a step, and what the page needs for the next one."""

    payment: Payment
    client_secret: str | None = None
    browser: BrowserSetup | None = None


def snapshot(case: Case) -> CaseSnapshot:
    """The public facts of a case that a payment carries with it."""
    return CaseSnapshot(
        case_id=case.case_id,
        case_number=case.case_number,
        court_code=case.court_code,
        court_name=case.court_name,
        account_number=case.account_number,
        adjudicated_amount=case.adjudicated_amount,
        currency=case.currency,
    )


class CollectionService:
    """Online collection over one collection table, one payment rail, the cases and the
    ledger. Safe to share: every write that can race is conditional."""

    def __init__(
        self,
        store: CollectionStore,
        rail: Callable[[], PaymentRail],
        clock: Clock,
        *,
        cases: CaseService,
        ledger: LedgerService,
        notifier: Notifier,
        sweep_lookback: timedelta = timedelta(days=3),
        max_payment_multiple: int = 2,
        clocks: Callable[[], ArrivalClocks] | None = None,
    ) -> None:
        self.store = store
        self._rail = rail
        self._clock = clock
        self._cases = cases
        self._ledger = ledger
        self._notifier = notifier
        self._sweep_lookback = sweep_lookback  # Stripe retries a webhook for up to 3 days
        self._max_payment_multiple = max_payment_multiple
        self._clocks = clocks  # built on the first arrival: the pay page never needs them

    @property
    def rail(self) -> PaymentRail:
        """Built on first use: staff reading queues never need the rail's keys."""
        return self._rail()

    # -- the pay page ------------------------------------------------------------------------

    def overview(self, account_number: str) -> CaseOverview:
        """The case behind a typed or linked account number; a mistyped number is refused."""
        case = self._cases.find_by_account_number(account_number)
        return CaseOverview(
            case=snapshot(case),
            status=case.status.value,
            standing=self.store.standing(case.case_id),
        )

    def standing_of_case(self, case_id: str) -> CaseOverview:
        """The case and what has been paid into it, for staff."""
        case = self._cases.get(case_id)
        return CaseOverview(
            case=snapshot(case),
            status=case.status.value,
            standing=self.store.standing(case.case_id),
        )

    def start_payment(
        self,
        account_number: str,
        request: StartPayment,
        *,
        idempotency_key: str | None,
        client: str = "",
    ) -> PaymentStep:
        """Open a payment for the case at the rail. The page sends an idempotency key per
        attempt, so a double tap or a retried request from the same ``client`` opens one
        payment, not two."""
        case = self._cases.find_by_account_number(account_number)
        if case.status != CaseStatus.OPEN:
            raise CaseNotPayable(
                f"case {case.case_number} is {case.status.value} and takes no payments",
                case_status=case.status.value,
            )
        standing = self.store.standing(case.case_id)
        remaining = standing.remaining(case.adjudicated_amount)
        if request.amount > remaining and not request.accept_surplus:
            raise AmountRefused(
                f"the amount is more than the {format_yuan(remaining)} yuan that remains; "
                "confirm that you mean to overpay (the surplus is refunded on application)",
                remaining=remaining,
            )
        ceiling = remaining * self._max_payment_multiple
        if request.amount > ceiling:
            raise AmountRefused(
                f"a payment into this case is at most {format_yuan(ceiling)} yuan "
                f"({self._max_payment_multiple} times the {format_yuan(remaining)} yuan that "
                "remains)"
                if remaining
                else f"case {case.case_number} is paid in full and takes no more payments",
                remaining=remaining,
                ceiling=ceiling,
            )
        payment_id = self._payment_id(case.account_number, idempotency_key, client)
        digest = hashlib.sha256(
            f"{case.account_number}|{request.amount}|{request.accept_surplus}".encode()
        ).hexdigest()
        now = self._clock.now()
        payment = Payment(
            payment_id=payment_id,
            case=snapshot(case),
            amount=request.amount,
            currency=case.currency,
            status=PaymentStatus.CREATED,
            rail=self.rail.name,
            created_at=now,
            updated_at=now,
            accepts_surplus=request.amount > remaining,
        )
        if not self.store.add_payment(payment, request_digest=digest):
            payment = self._replayed(payment_id, digest)
            if payment.rail_reference is not None:
                current = self.rail.retrieve(payment.rail_reference)
                return PaymentStep(payment, current.client_secret, self.rail.browser_setup())
        opened = self.rail.create_payment(
            key=payment_id,
            amount=payment.amount,
            currency=payment.currency,
            payment_id=payment_id,
            account_number=case.account_number,
            description=f"{case.court_name} {case.case_number}",
        )
        payment = self._move(
            payment,
            PaymentStatus.AWAITING_METHOD,
            {PaymentStatus.CREATED},
            rail_reference=opened.reference,
        )
        return PaymentStep(payment, opened.client_secret, self.rail.browser_setup())

    def confirm_card(self, payment_id: str, card_token: str) -> PaymentStep:
        """Charge the card the payer entered. A payment that needs 3-D Secure comes back with
        its client secret so the page can finish it with the rail's browser library."""
        payment = self.payment(payment_id)
        if payment.status != PaymentStatus.AWAITING_METHOD or payment.rail_reference is None:
            raise PaymentConflict(
                f"this payment is {payment.status.display}; start a new payment to pay again",
                status=payment.status.value,
            )
        # Another payment (a second tab, another payer) may have paid the case since this one
        # started: charge more than remains only if the payer confirmed a surplus.
        remaining = self.store.standing(payment.case.case_id).remaining(
            payment.case.adjudicated_amount
        )
        if payment.amount > remaining and not payment.accepts_surplus:
            raise AmountRefused(
                f"the case was paid in the meantime and {format_yuan(remaining)} yuan remains; "
                "start again with the amount that remains, or confirm that you mean to overpay",
                remaining=remaining,
            )
        try:
            current = self.rail.confirm_with_card(payment.rail_reference, card_token=card_token)
        except PaymentDeclined as declined:
            self._move(payment, PaymentStatus.FAILED, OPEN_STATUSES, failure=declined.detail)
            raise
        payment = self._follow(payment, current)
        secret = current.client_secret if payment.status == PaymentStatus.REQUIRES_ACTION else None
        return PaymentStep(payment, secret)

    def payment(self, payment_id: str) -> Payment:
        """The payment as we recorded it, without asking the rail."""
        found = self.store.payment(payment_id)
        if found is None:
            raise PaymentNotFound("there is no payment with this reference")
        return found[0]

    def refresh(self, payment_id: str) -> Payment:
        """The payment, brought up to date from the rail while it is still in flight, so the
        receipt page shows the real state even before (or without) a webhook."""
        payment = self.payment(payment_id)
        if payment.status in OPEN_STATUSES and payment.rail_reference is not None:
            payment = self._follow(payment, self.rail.retrieve(payment.rail_reference))
        return payment

    def receipt(self, payment_id: str) -> Payment:
        """A received payment, for its receipt; anything else has none yet."""
        payment = self.refresh(payment_id)
        if payment.status != PaymentStatus.SUCCEEDED:
            raise PaymentConflict(
                f"this payment is {payment.status.display}; a receipt is issued once it is paid",
                status=payment.status.value,
            )
        return payment

    def payments_of_case(self, case_id: str) -> list[Payment]:
        """Every payment attempt of a case, newest first; an unknown case is not found."""
        self._cases.get(case_id)
        return self.store.payments_of_case(case_id)

    def browser_setup(self) -> BrowserSetup:
        """What the pay page needs from the rail to take a card in the browser."""
        return self.rail.browser_setup()

    # -- staff queues ------------------------------------------------------------------------

    def unidentified_queue(self, status: ClaimStatus, *, limit: int) -> list[UnidentifiedPayment]:
        """不明款 in a claim status, oldest first."""
        return self.store.unidentified_queue(status, limit=limit)

    def review_queue(self, *, limit: int) -> list[ReviewItem]:
        """Payments that could not be posted as they came, oldest first."""
        return self.store.review_queue(limit=limit)

    def surplus_drafts(self, *, limit: int) -> list[SurplusDraft]:
        """Cases paid beyond what they owe, newest first: the refunds workflow's inbox."""
        return self.store.surplus_drafts(limit=limit)

    def malformed_events(self, *, limit: int) -> list[MalformedEventRecord]:
        """Signed rail events of a shape not acted on, newest first, for finance to review."""
        return self.store.malformed_events(limit=limit)

    # -- webhooks and the sweeper ------------------------------------------------------------

    def ingest_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """Verify, record the event id, act, mark done. A duplicate is acknowledged and does
        nothing; an event recorded but never finished (a crash) is acted on again, which is
        safe because every action is idempotent. A verified event of the wrong shape is kept
        for review and acknowledged, never acted on."""
        try:
            event = self.rail.parse_event(raw_body, headers)
        except MalformedEvent as malformed:
            record = MalformedEventRecord(
                key=malformed.key,
                rail=self.rail.name,
                why=malformed.why[:500],
                received_at=self._clock.now(),
                body_start=raw_body[:2000].decode("utf-8", "replace"),
            )
            new = self.store.record_malformed_event(record)
            log.warning(
                "collection: %s event %s kept for review: %s", record.rail, record.key, record.why
            )
            return {"event": malformed.key, "outcome": "malformed" if new else "duplicate"}
        received = isoformat(self._clock.now())
        if not self.store.record_event(self.rail.name, event.event_id, event.event_type, received):
            return {"event": event.event_id, "outcome": "duplicate"}
        outcome = self._act(event)
        self.store.finish_event(
            self.rail.name, event.event_id, outcome, isoformat(self._clock.now())
        )
        return {"event": event.event_id, "outcome": outcome}

    def sweep(self) -> SweepReport:
        """Post every payment the rail says succeeded but that we have not posted (its webhook
        never came), and send notices left pending. Idempotent.

        It reads from where the last complete sweep started, less an overlap for clock skew
        (the first run reads the look-back window), never further back than the rail keeps its
        events. A payment that fails to settle is logged and recorded for retry, and later runs
        retry it by itself; only if that record cannot be written does the mark stay put."""
        started = self._clock.now()
        mark = self.store.sweep_mark(self.rail.name)
        # Without a mark (the first run), the look-back covers Stripe's webhook retries. With
        # one, read from it however old: after an outage longer than those retries, neither a
        # webhook nor a capped window would bring back the payments from its first days.
        since = started - self._sweep_lookback if mark is None else mark - SWEEP_OVERLAP
        since = max(since, started - RAIL_EVENT_RETENTION)
        outcomes: dict[str, int] = {}
        examined = failed = unrecorded = 0
        retried = self.store.sweep_retries(self.rail.name)
        for reference in retried:
            try:
                outcome = self.settle(self.rail.retrieve(reference)).outcome
            except Exception:
                log.exception("collection sweep: payment %s still not settled", reference)
                failed += 1
                continue
            self.store.settle_sweep_retry(self.rail.name, reference, self._clock.now())
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        for current in self.rail.succeeded_since(since):
            if current.reference in retried:
                continue  # tried above in this run
            examined += 1
            try:
                outcome = self.settle(current).outcome
            except Exception:
                log.exception("collection sweep: payment %s not settled", current.reference)
                failed += 1
                unrecorded += not self._retry_later(current.reference, started)
                continue
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if unrecorded == 0:
            self.store.set_sweep_mark(self.rail.name, started)
        report = SweepReport(
            examined=examined,
            posted=outcomes.get("posted", 0),
            unidentified=outcomes.get("unidentified", 0),
            review=outcomes.get("review", 0),
            failed=failed,
            notices_sent=self.send_pending_notices(),
        )
        log.info("collection sweep: %s", report)
        return report

    def _retry_later(self, reference: str, now: datetime) -> bool:
        try:
            self.store.add_sweep_retry(self.rail.name, reference, now)
        except Exception:
            log.exception("collection sweep: payment %s not recorded for retry", reference)
            return False
        return True

    def _act(self, event: RailEvent) -> str:
        heard = event.payment
        if heard is None or event.kind == RailEventKind.OTHER:
            return "ignored"
        # An event is a notice, not the truth: anyone holding the signing secret can say any
        # amount or metadata. What moves money is the payment as the rail holds it now.
        try:
            current = self.rail.retrieve(heard.reference)
        except PaymentConflict:
            log.warning(
                "collection: event %s names %s, unknown to the rail",
                event.event_id,
                heard.reference,
            )
            return "unknown_payment"
        if current.status == RailStatus.SUCCEEDED:
            return self.settle(current).outcome
        found = self.store.payment(current.payment_id) if current.payment_id else None
        if found is None:
            return "unknown_payment"
        if found[0].rail_reference not in (None, current.reference):
            return "other_reference"  # only the intent our payment holds may move it
        return f"status:{self._follow(found[0], current).status.value}"

    # -- settling ----------------------------------------------------------------------------

    def settle(self, current: RailPayment) -> Settlement:
        """Post a payment the rail reports succeeded, exactly once.

        ``current`` is the rail's own answer (a retrieve, a confirm, the rail's event list),
        never a webhook body. It is checked against our payment record: an amount, currency or
        case that differs goes to review and moves nothing. The ledger transfer is keyed by the
        rail's reference, so one rail payment posts once whichever way it is routed."""
        if current.status != RailStatus.SUCCEEDED:
            raise PaymentConflict("only a succeeded payment is settled")
        found = self.store.payment(current.payment_id) if current.payment_id else None
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
            return Settlement("already_posted", payment)
        return self._settle_ours(payment, current)

    def _settle_ours(self, payment: Payment, current: RailPayment) -> Settlement:
        """Our payment, succeeded at the rail: checked against what the rail holds, posted
        once under the rail's reference, then recorded."""
        mismatch = _mismatch(payment, current)
        if mismatch:
            return self._for_review(current, mismatch)
        transfer = self._post_collection(payment, current)
        if payment.case.account_number not in _credited(transfer):
            # This rail payment was posted once already, to unidentified funds; it is claimed
            # from there (认领), never posted a second time.
            return Settlement("already_posted", payment)
        return self._commit_settlement(payment, current, transfer.id)

    def _commit_settlement(
        self, payment: Payment, current: RailPayment, transfer_id: str
    ) -> Settlement:
        """Record the posted payment with its receipt number, retrying when another payment
        of the same case or court got there first."""
        for _ in range(MAX_ATTEMPTS):
            paid_at = self._clock.now()
            year = paid_at.astimezone(CHINA_TIME).year
            before = self.store.settlement_state(
                payment.case.case_id, payment.case.court_code, year
            )
            seq = before.receipt_seq + 1
            succeeded = payment.model_copy(
                update={
                    "status": PaymentStatus.SUCCEEDED,
                    "rail_reference": current.reference,
                    "paid_at": paid_at,
                    "updated_at": paid_at,
                    "amount_received": current.amount,
                    "receipt_number": f"{payment.case.court_code}-{year}-{seq:07d}",
                    "transfer_id": transfer_id,
                    "failure_message": None,
                }
            )
            standing, surplus, notice = self._credit(
                payment.case, before.standing, current.amount, payment.payment_id
            )
            try:
                done = self.store.commit_settlement(
                    succeeded,
                    before=before,
                    standing=standing,
                    receipt=(payment.case.court_code, year, seq),
                    surplus=surplus,
                    notice=notice,
                )
            except Contended:
                continue
            if not done:
                return Settlement("already_posted", self.payment(payment.payment_id))
            self._counted(payment.case, transfer_id, current.amount, paid_at)
            if notice is not None:
                self._send(notice)
            return Settlement("posted", succeeded)
        raise CollectionBusy("the case is settling many payments at once; try again")

    def _rail_transfer_id(self, reference: str) -> str:
        """One rail movement, one ledger transfer: the id is the rail's own reference."""
        return f"rail:{self.rail.name}:{reference}"

    def _post_rail_money(self, request: TransferRequest) -> Transfer:
        """Post money from the rail, or hand back what this rail payment already posted (to a
        case or to unidentified funds): the ledger refuses a second body under the same id."""
        try:
            return self._ledger.transfer(request)
        except IdempotencyConflict:
            return self._ledger.get_transfer(request.id)

    def _post_collection(self, payment: Payment, current: RailPayment) -> Transfer:
        self._ledger.ensure_system_accounts(payment.currency)
        return self._post_rail_money(
            TransferRequest.between(
                id=self._rail_transfer_id(current.reference),
                debit=SystemAccount.PAYMENT_CLEARING.of(payment.currency),
                credit=payment.case.account_number,
                amount=current.amount,
                code=TransferCode.COLLECTION,
                requested_by=f"rail:{self.rail.name}",
                currency=payment.currency,
                metadata={
                    "payment_id": payment.payment_id,
                    "rail_reference": current.reference,
                    "case_id": payment.case.case_id,
                },
            )
        )

    def _credit(
        self, case: CaseSnapshot, before: CaseStanding, amount: int, source: str
    ) -> tuple[CaseStanding, SurplusDraft | None, Notice | None]:
        """The case's standing after ``amount`` more is paid, with the surplus draft and the
        paid-in-full notice that this payment brings about."""
        now = self._clock.now()
        owed = case.adjudicated_amount
        crosses = before.paid < owed <= before.paid + amount
        standing = before.model_copy(
            update={
                "paid": before.paid + amount,
                "payments": before.payments + 1,
                "version": before.version + 1,
                "last_paid_at": now,
                "paid_in_full_at": now if crosses else before.paid_in_full_at,
            }
        )
        excess = standing.surplus(owed)
        surplus = None
        if excess > 0:
            surplus = SurplusDraft(
                case_id=case.case_id,
                account_number=case.account_number,
                amount=excess,
                currency=case.currency,
                last_payment_id=source,
                updated_at=now,
            )
        notice = None
        if crosses:
            notice = Notice(
                key=f"{PAID_IN_FULL}:{case.case_id}",
                kind=PAID_IN_FULL,
                case_id=case.case_id,
                created_at=now,
            )
        return standing, surplus, notice

    def _unidentified(self, current: RailPayment, why: str) -> Settlement:
        """不明款: the money is real, so it is posted, but to unidentified funds, and queued."""
        self._ledger.ensure_system_accounts(current.currency)
        transfer = self._post_rail_money(
            TransferRequest.between(
                id=self._rail_transfer_id(current.reference),
                debit=SystemAccount.PAYMENT_CLEARING.of(current.currency),
                credit=SystemAccount.UNIDENTIFIED_FUNDS.of(current.currency),
                amount=current.amount,
                code=TransferCode.UNIDENTIFIED_RECEIPT,
                requested_by=f"rail:{self.rail.name}",
                currency=current.currency,
                metadata={"rail_reference": current.reference, "why": why},
            )
        )
        if transfer.code != TransferCode.UNIDENTIFIED_RECEIPT:
            return Settlement("already_posted")  # it reached its case once already
        item = UnidentifiedPayment(
            reference=current.reference,
            rail=self.rail.name,
            amount=current.amount,
            currency=current.currency,
            received_at=self._clock.now(),
            status=ClaimStatus.OPEN,
            why=why,
            stated_account_number=current.account_number,
            receipt_transfer_id=transfer.id,
        )
        queued = self.store.add_unidentified(item)
        if queued:
            self._tell_clocks(lambda clocks: clocks.unidentified_arrived(item))
        return Settlement("unidentified" if queued else "already_posted")

    def _for_review(self, current: RailPayment, why: str) -> Settlement:
        """Nothing is posted: the ledger keeps CNY only. Finance decides (usually a refund)."""
        added = self.store.add_review(
            ReviewItem(
                reference=current.reference,
                rail=self.rail.name,
                amount=current.amount,
                currency=current.currency,
                received_at=self._clock.now(),
                why=why,
                payment_id=current.payment_id,
            )
        )
        if not added:
            return Settlement("already_reviewed")
        log.warning("collection: payment %s held for review: %s", current.reference, why)
        return Settlement("review")

    # -- claims (认领) -----------------------------------------------------------------------

    def claim(
        self,
        reference: str,
        *,
        account_number: str,
        reason: str,
        actor: str,
        confirmed_by: str,
        confirmer_subject: str,
    ) -> UnidentifiedPayment:
        """Claim unidentified money to a case, as proposed by ``actor`` and confirmed by a
        second person, through the ledger's one claim mechanism; mark the queue item with who,
        why and when. The money counts toward the case. The same confirmation sent again,
        also while the first is in flight, gets the first answer."""
        item = self.store.unidentified(reference)
        if item is None:
            raise ClaimNotFound(f"there is no unidentified payment {reference}")
        if item.status != ClaimStatus.OPEN:
            if item.confirmer_subject == confirmer_subject and _names_account(
                account_number, item.claimed_account_number or ""
            ):
                return item
            raise ClaimAlreadySettled(
                f"this payment was already claimed to case account {item.claimed_account_number}"
            )
        transfer_id = f"claim:{item.rail}:{reference}"
        transfer = self._earlier_claim(transfer_id)
        if transfer is None:
            case = self._cases.find_by_account_number(account_number)
            if case.status == CaseStatus.CONCLUDED:
                raise CaseNotPayable(
                    f"case {case.case_number} is concluded and takes no money",
                    case_status=case.status.value,
                )
            if case.currency != item.currency:
                raise AmountRefused(
                    f"the case keeps {case.currency}; this money is {item.currency}"
                )
            try:
                transfer = self._ledger.claim_unidentified(
                    id=transfer_id,
                    account_id=case.account_number,
                    amount=item.amount,
                    claimed_by=actor,
                    confirmed_by=confirmed_by,
                    reason=reason,
                    payment_ref=reference,
                    currency=item.currency,
                )
            except IdempotencyConflict:
                transfer = self._ledger.get_transfer(transfer_id)  # a twin got there first
        # The ledger transfer is the durable record: whoever finishes a claim (a twin request,
        # a retry after a crash) records it as it was made.
        credited = next(leg for leg in transfer.legs if leg.side == Side.CREDIT)
        case = self._cases.find_by_account_number(credited.account_id)
        claimed = item.model_copy(
            update={
                "status": ClaimStatus.CLAIMED,
                "claimed_to_case": case.case_id,
                "claimed_account_number": case.account_number,
                "claimed_by": transfer.requested_by,
                "claim_reason": transfer.metadata.get("reason", reason),
                "claimed_at": self._clock.now(),
                "claim_transfer_id": transfer.id,
                "confirmed_by": transfer.metadata.get("confirmed_by", confirmed_by),
                "confirmer_subject": confirmer_subject,
            }
        )
        claimed = self._record_claim(claimed, case)
        if not _names_account(account_number, case.account_number):
            raise ClaimAlreadySettled(
                f"this payment was already claimed to case account {claimed.claimed_account_number}"
            )
        return claimed

    def _earlier_claim(self, transfer_id: str) -> Transfer | None:
        try:
            return self._ledger.get_transfer(transfer_id)
        except TransferNotFound:
            return None

    def _record_claim(self, claimed: UnidentifiedPayment, case: Case) -> UnidentifiedPayment:
        """Mark the queue item claimed and count the money toward the case, in one
        transaction; retried when another payment of the case got there first."""
        reference = claimed.reference
        for _ in range(MAX_ATTEMPTS):
            before = self.store.standing(case.case_id)
            standing, surplus, notice = self._credit(
                snapshot(case), before, claimed.amount, reference
            )
            try:
                done = self.store.commit_claim(
                    claimed, before=before, standing=standing, surplus=surplus, notice=notice
                )
            except Contended:
                continue
            if not done:
                return self.store.unidentified(reference) or claimed
            self._counted(
                snapshot(case),
                claimed.claim_transfer_id or reference,
                claimed.amount,
                claimed.claimed_at or self._clock.now(),
                claimed_reference=reference,
            )
            if notice is not None:
                self._send(notice)
            return claimed
        raise CollectionBusy("the case is settling many payments at once; try again")

    # -- counter cash (现场交款补录) ----------------------------------------------------------

    def count_counter_cash(self, cash: CashEntry, *, confirmed_by: str) -> CounterCash:
        """现场交款补录, once confirmed by a second person: the cash is posted to the case
        account and counts toward the case, as a payment made online does, so the pay page
        does not ask the debtor for it again.

        The ledger posts the entry's id once (a replay, or another confirmer finishing a
        confirmation cut short, gets the original transfer). The count is recorded under that
        transfer's id in the same transaction as the standing, so a retry after a crash
        between the two counts it, and any later retry does not."""
        case = self._cases.get(cash.case_id)
        if case.status == CaseStatus.CONCLUDED:
            raise CaseNotPayable(
                f"case {case.case_number} is concluded and takes no money",
                case_status=case.status.value,
            )
        self._ledger.ensure_system_accounts(case.currency)
        try:
            transfer = self._ledger.enter_counter_cash(
                id=cash.id,
                account_id=case.account_number,
                amount=cash.amount,
                receipt_no=cash.receipt_no,
                received_at=cash.received_at,
                entered_by=cash.entered_by,
                confirmed_by=confirmed_by,
                currency=case.currency,
            )
        except IdempotencyConflict:
            transfer = self._ledger.get_transfer(cash.id)
            if transfer.code != TransferCode.CASH_BACK_ENTRY or transfer.amount != cash.amount:
                raise
        entry = CounterCash(
            transfer_id=transfer.id,
            case_id=case.case_id,
            account_number=case.account_number,
            amount=transfer.amount,
            currency=transfer.currency,
            receipt_no=cash.receipt_no,
            received_at=cash.received_at,
            entered_by=transfer.requested_by,
            confirmed_by=transfer.metadata.get("confirmed_by", confirmed_by),
            counted_at=self._clock.now(),
        )
        for _ in range(MAX_ATTEMPTS):
            before = self.store.standing(case.case_id)
            standing, surplus, notice = self._credit(
                snapshot(case), before, entry.amount, entry.transfer_id
            )
            try:
                done = self.store.commit_counter_cash(
                    entry, before=before, standing=standing, surplus=surplus, notice=notice
                )
            except Contended:
                continue
            if not done:
                return self.store.counter_cash(entry.transfer_id) or entry
            # The cash reached the court when the counter took it, not when it was entered.
            self._counted(snapshot(case), entry.transfer_id, entry.amount, cash.received_at)
            if notice is not None:
                self._send(notice)
            return entry
        raise CollectionBusy("the case is settling many payments at once; try again")

    # -- notices -----------------------------------------------------------------------------

    def send_pending_notices(self) -> int:
        """Send notices left pending by a failed notifier; how many went out."""
        return sum(1 for notice in self.store.pending_notices() if self._send(notice))

    def _send(self, notice: Notice) -> bool:
        """Hand a notice to the notifier one recipient at a time, recording each one told, and
        mark it sent once every recipient is. A failure leaves it pending for the sweeper,
        which tells only those not told yet; the payment itself is already safe."""
        try:
            message = self._paid_in_full(self._cases.get(notice.case_id), notice)
        except Exception:
            log.exception("collection: notice %s not sent; the sweeper retries", notice.key)
            return False
        complete = True
        for recipient in message.recipients:
            told = f"{recipient.channel.value}:{recipient.address}"
            if told in notice.sent_to:
                continue
            try:
                self._notifier.notify(replace(message, recipients=(recipient,)))
            except Exception:
                log.exception("collection: notice %s not sent to a recipient", notice.key)
                complete = False
                continue
            progressed = notice.model_copy(update={"sent_to": (*notice.sent_to, told)})
            if not self.store.save_pending_notice(progressed, told_before=len(notice.sent_to)):
                return False  # another run is sending it
            notice = progressed
        if not complete:
            return False
        sent = notice.model_copy(update={"status": NoticeStatus.SENT, "sent_at": self._clock.now()})
        if not self.store.save_pending_notice(sent, told_before=len(notice.sent_to)):
            return False
        at = sent.sent_at or self._clock.now()
        self._tell_clocks(lambda clocks: clocks.creditor_notified(notice.case_id, at=at))
        return True

    # -- the statutory clocks ------------------------------------------------------------------

    def _counted(
        self,
        case: CaseSnapshot,
        transfer_id: str,
        amount: int,
        arrived_at: datetime,
        *,
        claimed_reference: str | None = None,
    ) -> None:
        """Money counted on a case starts the clock for telling its creditor."""
        self._tell_clocks(
            lambda clocks: clocks.arrived(
                case_id=case.case_id,
                court=case.court_code,
                transfer_id=transfer_id,
                amount=amount,
                arrived_at=arrived_at,
                claimed_reference=claimed_reference,
            )
        )

    def _tell_clocks(self, tell: Callable[[ArrivalClocks], object]) -> None:
        """The money and its count are committed before the clocks hear of it, so a clock that
        cannot be written is logged and never undoes or fails the payment."""
        if self._clocks is None:
            return
        try:
            tell(self._clocks())
        except Exception:
            log.exception("collection: a statutory clock was not told of an arrival")

    @staticmethod
    def _paid_in_full(case: Case, notice: Notice) -> Notification:
        recipients = tuple(
            Recipient(channel=Channel.SMS, address=party.phone, party_id=party.party_id)
            for party in case.creditors
        )
        return Notification(
            key=notice.key,
            kind=notice.kind,
            case_id=case.case_id,
            recipients=recipients,
            subject=f"{case.case_number} 执行款已足额到账",
            body=(
                f"【{case.court_name}】您申请执行的{case.case_number}案，执行款"
                f"{format_yuan(case.adjudicated_amount)}元已足额到账，法院将依法发放案款。"
            ),
        )

    # -- helpers -----------------------------------------------------------------------------

    def _payment_id(self, account_number: str, idempotency_key: str | None, client: str) -> str:
        if idempotency_key is None:
            return "pay_" + secrets.token_hex(12)
        if not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise BadRequest("an Idempotency-Key is a random (version 4) UUID, new per attempt")
        scope = f"{account_number}|{client}|{idempotency_key.lower()}"
        digest = hashlib.sha256(scope.encode()).hexdigest()
        return "pay_" + digest[:24]

    def _replayed(self, payment_id: str, digest: str) -> Payment:
        found = self.store.payment(payment_id)
        if found is None:
            raise PaymentNotFound("the payment vanished while being replayed")
        payment, original = found
        if original != digest:
            raise PaymentConflict("this Idempotency-Key was used for a different payment")
        return payment

    def _follow(self, payment: Payment, current: RailPayment) -> Payment:
        """Bring our record in line with the rail: succeeded settles; the others move the
        status forward only (a late 'processing' never undoes 'failed' or 'paid')."""
        if current.status == RailStatus.SUCCEEDED:
            settled = self.settle(current).payment
            return settled or self.payment(payment.payment_id)
        if current.status == RailStatus.PROCESSING:
            return self._move(payment, PaymentStatus.PROCESSING, _BEFORE_PROCESSING)
        if current.status == RailStatus.REQUIRES_ACTION:
            return self._move(payment, PaymentStatus.REQUIRES_ACTION, _BEFORE_ACTION)
        if current.status == RailStatus.CANCELED:
            return self._move(payment, PaymentStatus.CANCELED, OPEN_STATUSES)
        if current.status == RailStatus.AWAITING_METHOD and current.failure_message:
            return self._move(
                payment, PaymentStatus.FAILED, OPEN_STATUSES, failure=current.failure_message
            )
        return payment

    def _move(
        self,
        payment: Payment,
        status: PaymentStatus,
        from_statuses: frozenset[PaymentStatus] | set[PaymentStatus],
        *,
        failure: str | None = None,
        rail_reference: str | None = None,
    ) -> Payment:
        if payment.status not in from_statuses:
            return payment
        moved = payment.model_copy(
            update={
                "status": status,
                "updated_at": self._clock.now(),
                "failure_message": failure,
                "rail_reference": rail_reference or payment.rail_reference,
            }
        )
        if self.store.save_payment(moved, from_statuses=from_statuses):
            return moved
        return self.payment(payment.payment_id)


def _names_account(typed: str, account_number: str) -> bool:
    try:
        return normalise_account_number(typed) == account_number
    except ValueError:
        return False


_BEFORE_PROCESSING = frozenset(
    {PaymentStatus.CREATED, PaymentStatus.AWAITING_METHOD, PaymentStatus.REQUIRES_ACTION}
)
_BEFORE_ACTION = frozenset({PaymentStatus.CREATED, PaymentStatus.AWAITING_METHOD})


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
    return None
