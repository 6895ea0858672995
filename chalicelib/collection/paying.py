"""The pay page's use cases: find the case, open a payment at the rail, charge the card,
follow the payment until the rail settles it, and hand out its receipt."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.cases import CaseStatus
from chalicelib.clock import Clock
from chalicelib.collection.errors import (
    AmountRefused,
    CaseNotPayable,
    PaymentConflict,
    PaymentDeclined,
    PaymentNotFound,
)
from chalicelib.collection.models import (
    OPEN_STATUSES,
    CaseSnapshot,
    CaseStanding,
    Payment,
    PaymentStatus,
    StartPayment,
)
from chalicelib.collection.rail import BrowserSetup, PaymentRail, RailPayment, RailStatus
from chalicelib.collection.settlement import Settling
from chalicelib.collection.store import CollectionStore
from chalicelib.money import format_yuan
from chalicelib.problems import BadRequest

if TYPE_CHECKING:
    from chalicelib.cases import Case, CaseService

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


class Paying:
    """The debtor's side of collection; safe to share."""

    def __init__(
        self,
        store: CollectionStore,
        rail: Callable[[], PaymentRail],
        clock: Clock,
        *,
        cases: CaseService,
        settling: Settling,
        max_payment_multiple: int,
    ) -> None:
        self._store = store
        self._rail = rail
        self._clock = clock
        self._cases = cases
        self._settling = settling
        self._max_payment_multiple = max_payment_multiple

    def overview(self, account_number: str) -> CaseOverview:
        """The case behind a typed or linked account number; a mistyped number is refused."""
        case = self._cases.find_by_account_number(account_number)
        return CaseOverview(
            case=snapshot(case),
            status=case.status.value,
            standing=self._store.standing(case.case_id),
        )

    def standing_of_case(self, case_id: str) -> CaseOverview:
        """The case and what has been paid into it, for staff."""
        case = self._cases.get(case_id)
        return CaseOverview(
            case=snapshot(case),
            status=case.status.value,
            standing=self._store.standing(case.case_id),
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
        standing = self._store.standing(case.case_id)
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
            rail=self._rail().name,
            created_at=now,
            updated_at=now,
            accepts_surplus=request.amount > remaining,
        )
        if not self._store.add_payment(payment, request_digest=digest):
            payment = self._replayed(payment_id, digest)
            if payment.rail_reference is not None:
                current = self._rail().retrieve(payment.rail_reference)
                return PaymentStep(payment, current.client_secret, self._rail().browser_setup())
        opened = self._rail().create_payment(
            key=payment_id,
            amount=payment.amount,
            currency=payment.currency,
            payment_id=payment_id,
            account_number=case.account_number,
            case_id=case.case_id,
            court_code=case.court_code,
            description=f"{case.court_name} {case.case_number}",
        )
        payment = self._move(
            payment,
            PaymentStatus.AWAITING_METHOD,
            {PaymentStatus.CREATED},
            rail_reference=opened.reference,
        )
        return PaymentStep(payment, opened.client_secret, self._rail().browser_setup())

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
        remaining = self._store.standing(payment.case.case_id).remaining(
            payment.case.adjudicated_amount
        )
        if payment.amount > remaining and not payment.accepts_surplus:
            raise AmountRefused(
                f"the case was paid in the meantime and {format_yuan(remaining)} yuan remains; "
                "start again with the amount that remains, or confirm that you mean to overpay",
                remaining=remaining,
            )
        try:
            current = self._rail().confirm_with_card(payment.rail_reference, card_token=card_token)
        except PaymentDeclined as declined:
            self._move(payment, PaymentStatus.FAILED, OPEN_STATUSES, failure=declined.detail)
            raise
        payment = self.follow(payment, current)
        secret = current.client_secret if payment.status == PaymentStatus.REQUIRES_ACTION else None
        return PaymentStep(payment, secret)

    def payment(self, payment_id: str) -> Payment:
        """The payment as we recorded it, without asking the rail."""
        found = self._store.payment(payment_id)
        if found is None:
            raise PaymentNotFound("there is no payment with this reference")
        return found[0]

    def refresh(self, payment_id: str) -> Payment:
        """The payment, brought up to date from the rail while it is still in flight, so the
        receipt page shows the real state even before (or without) a webhook."""
        payment = self.payment(payment_id)
        if payment.status in OPEN_STATUSES and payment.rail_reference is not None:
            payment = self.follow(payment, self._rail().retrieve(payment.rail_reference))
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
        return self._store.payments_of_case(case_id)

    def browser_setup(self) -> BrowserSetup:
        """What the pay page needs from the rail to take a card in the browser."""
        return self._rail().browser_setup()

    def _payment_id(self, account_number: str, idempotency_key: str | None, client: str) -> str:
        if idempotency_key is None:
            return "pay_" + secrets.token_hex(12)
        if not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise BadRequest("an Idempotency-Key is a random (version 4) UUID, new per attempt")
        scope = f"{account_number}|{client}|{idempotency_key.lower()}"
        digest = hashlib.sha256(scope.encode()).hexdigest()
        return "pay_" + digest[:24]

    def _replayed(self, payment_id: str, digest: str) -> Payment:
        found = self._store.payment(payment_id)
        if found is None:
            raise PaymentNotFound("the payment vanished while being replayed")
        payment, original = found
        if original != digest:
            raise PaymentConflict("this Idempotency-Key was used for a different payment")
        return payment

    def follow(self, payment: Payment, current: RailPayment) -> Payment:
        """Bring our record in line with the rail: succeeded settles; the others move the
        status forward only (a late 'processing' never undoes 'failed' or 'paid')."""
        if current.status == RailStatus.SUCCEEDED:
            settled = self._settling.settle(current).payment
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
        if self._store.save_payment(moved, from_statuses=from_statuses):
            return moved
        return self.payment(payment.payment_id)


_BEFORE_PROCESSING = frozenset(
    {PaymentStatus.CREATED, PaymentStatus.AWAITING_METHOD, PaymentStatus.REQUIRES_ACTION}
)
_BEFORE_ACTION = frozenset({PaymentStatus.CREATED, PaymentStatus.AWAITING_METHOD})
