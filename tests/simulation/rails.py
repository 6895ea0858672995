"""Payment and payout rails in memory whose behaviour a seed decides.

They implement the rails' interfaces (``PaymentRail``, ``PayoutRail``) as Stripe behaves where
it matters to the money: the same key is the same object, a webhook is signed over its body,
an answer can be lost after the rail acted, and the rail is the truth a sweeper reads back.
Faults are armed by the simulator (``fail_next``) and fire once.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from chalicelib.clock import Clock
from chalicelib.collection import (
    PaymentConflict,
    PaymentDeclined,
    RailUnavailable,
    WebhookRejected,
)
from chalicelib.collection.rail import (
    BalanceKind,
    BrowserSetup,
    RailBalanceTransaction,
    RailEvent,
    RailEventKind,
    RailPayment,
    RailRefund,
    RailRefundEvent,
    RailStatus,
    RefundStatus,
)
from chalicelib.payouts import PayoutDestination, PayoutRailUnavailable, PayoutStatus, RailPayout
from chalicelib.payouts.rail import PayoutEvent

SECRET = b"simulation-webhook-secret"
DECLINED_CARD = "tok_declined"
GOOD_CARD = "tok_visa"


class Crash(Exception):
    """The Lambda died at this point: nothing after it ran, what came before stays done."""


class Fault:
    """What a rail does instead of answering: ``UNAVAILABLE`` (a 500 or a timeout, no effect),
    ``LOST`` (it acted, the answer never came), ``CRASH_AFTER`` (it answered, our side died)."""

    UNAVAILABLE = "unavailable"
    LOST = "lost"
    CRASH_AFTER = "crash_after"


def sign(body: bytes) -> dict[str, str]:
    return {"Sim-Signature": hmac.new(SECRET, body, hashlib.sha256).hexdigest()}


def _verified(raw_body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    given = {k.lower(): v for k, v in headers.items()}.get("sim-signature", "")
    if not hmac.compare_digest(given, sign(raw_body)["Sim-Signature"]):
        raise WebhookRejected("the webhook signature does not match its body")
    return dict(json.loads(raw_body))


@dataclass
class SimPaymentRail:
    """Collection's rail: PaymentIntents, card confirmation, refunds and signed events."""

    clock: Clock
    rng: random.Random
    name: str = "sim"
    payments: dict[str, RailPayment] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    succeeded_at: dict[str, datetime] = field(default_factory=dict)
    refunds: dict[str, RailRefund] = field(default_factory=dict)  # by our idempotency key
    refunded_at: dict[str, datetime] = field(default_factory=dict)  # refund reference -> final
    events: list[bytes] = field(default_factory=list)  # every event the rail sent, in order
    refund_events: list[bytes] = field(default_factory=list)  # to the refunds endpoint
    armed: dict[str, str] = field(default_factory=dict)  # call name -> fault, fires once
    serial: int = 0

    def copy(self, clock: Clock, rng: random.Random) -> SimPaymentRail:
        """The same rail with its own state, for a run starting where this one stands."""
        kept = (f.name for f in fields(self) if f.name not in ("clock", "rng", "armed"))
        state = {name: copy.deepcopy(getattr(self, name)) for name in kept}
        return SimPaymentRail(clock=clock, rng=rng, **state)

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def fail_next(self, call: str, fault: str) -> None:
        self.armed[call] = fault

    def _fault(self, call: str) -> str | None:
        return self.armed.pop(call, None)

    def fee(self, payment: RailPayment) -> int:
        """The processing fee the rail takes from a charge: 0.6 %, none below 2.00 yuan."""
        return 0 if payment.amount < 200 else payment.amount * 6 // 1000

    def _emit(self, kind: str, payment: RailPayment) -> None:
        body = {
            "id": f"evt_{self._next()}",
            "type": f"payment_intent.{kind}",
            "reference": payment.reference,
            "amount": payment.amount,
            "currency": payment.currency,
            "status": payment.status.value,
            "payment_id": payment.payment_id,
            "account_number": payment.account_number,
        }
        self.events.append(json.dumps(body, sort_keys=True).encode())

    # -- PaymentRail -------------------------------------------------------------------------

    def create_payment(
        self,
        *,
        key: str,
        amount: int,
        currency: str,
        payment_id: str,
        account_number: str,
        case_id: str,
        court_code: str,
        description: str,
    ) -> RailPayment:
        fault = self._fault("create")
        if fault == Fault.UNAVAILABLE:
            raise RailUnavailable("the payment service did not answer; try again")
        if key not in self.by_key:
            reference = f"pi_{self._next()}"
            self.by_key[key] = reference
            self.payments[reference] = RailPayment(
                reference=reference,
                amount=amount,
                currency=currency,
                status=RailStatus.AWAITING_METHOD,
                created_at=self.clock.now(),
                payment_id=payment_id,
                account_number=account_number,
                case_id=case_id,
                court_code=court_code,
                client_secret=f"{reference}_secret",
            )
        if fault == Fault.LOST:
            raise RailUnavailable("the payment service did not answer; try again")
        return self.payments[self.by_key[key]]

    def confirm_with_card(self, reference: str, *, card_token: str) -> RailPayment:
        fault = self._fault("confirm")
        if fault == Fault.UNAVAILABLE:
            raise RailUnavailable("the payment service did not answer; try again")
        current = self.retrieve(reference)
        if current.status != RailStatus.AWAITING_METHOD:
            raise PaymentConflict("the payment cannot be confirmed in its state")
        if card_token == DECLINED_CARD:
            self.payments[reference] = replace(current, failure_message="card declined")
            self._emit("payment_failed", self.payments[reference])
            raise PaymentDeclined("the card was declined")
        self.succeed(reference)
        if fault == Fault.LOST:
            raise RailUnavailable("the payment service did not answer; try again")
        answer = self.payments[reference]
        if fault == Fault.CRASH_AFTER:
            raise Crash("after the card was charged")
        return answer

    def succeed(self, reference: str) -> None:
        """The payer finished paying (at the rail, as with a wallet app)."""
        self.payments[reference] = replace(self.payments[reference], status=RailStatus.SUCCEEDED)
        self.succeeded_at[reference] = self.clock.now()
        self._emit("succeeded", self.payments[reference])

    def retrieve(self, reference: str) -> RailPayment:
        if self._fault("retrieve") == Fault.UNAVAILABLE:
            raise RailUnavailable("the payment service did not answer; try again")
        if reference not in self.payments:
            raise PaymentConflict("no such payment at the rail")
        return self.payments[reference]

    def succeeded_since(self, moment: datetime) -> Iterator[RailPayment]:
        if self._fault("list") == Fault.UNAVAILABLE:
            raise RailUnavailable("the payment service did not answer; try again")
        for reference, at in sorted(self.succeeded_at.items()):
            if at >= moment:
                yield self.payments[reference]

    def balance_transactions(
        self, start: datetime, end: datetime
    ) -> Iterator[RailBalanceTransaction]:
        """Each charge with the fee taken from it, and each refund paid, in the window."""
        for reference, at in sorted(self.succeeded_at.items()):
            if start <= at < end:
                payment = self.payments[reference]
                yield RailBalanceTransaction(
                    id=f"txn_{reference}", kind=BalanceKind.CHARGE, reference=reference,
                    amount=payment.amount, fee=self.fee(payment), currency=payment.currency,
                    created_at=at,
                )  # fmt: skip
        for refund in self.refunds.values():
            at = self.refunded_at.get(refund.reference)
            if at is not None and start <= at < end and refund.status == RefundStatus.SUCCEEDED:
                yield RailBalanceTransaction(
                    id=f"txn_{refund.reference}", kind=BalanceKind.REFUND,
                    reference=refund.reference, amount=-refund.amount, fee=0,
                    currency=refund.currency, created_at=at,
                )  # fmt: skip

    def parse_event(self, raw_body: bytes, headers: Mapping[str, str]) -> RailEvent:
        event = _verified(raw_body, headers)
        kind = {
            "payment_intent.succeeded": RailEventKind.SUCCEEDED,
            "payment_intent.payment_failed": RailEventKind.FAILED,
        }.get(event["type"], RailEventKind.OTHER)
        heard = RailPayment(
            reference=event["reference"],
            amount=event["amount"],
            currency=event["currency"],
            status=RailStatus(event["status"]),
            created_at=self.clock.now(),
            payment_id=event.get("payment_id"),
            account_number=event.get("account_number"),
        )
        return RailEvent(event["id"], event["type"], kind, self.clock.now(), heard)

    def browser_setup(self) -> BrowserSetup:
        return BrowserSetup("sim", "pk_sim", "/static/sim.js", (), (), ())

    def refunded(self, payment_reference: str) -> int:
        """What the refunds of a payment take back at the rail (pending ones included)."""
        return sum(
            r.amount
            for r in self.refunds.values()
            if r.payment_reference == payment_reference
            and r.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
        )

    def refund(self, payment_reference: str, *, key: str, amount: int, currency: str) -> RailRefund:
        """As Stripe: the same key is the same refund; a refund beyond what is left of the
        charge is refused; a bank may take a while (pending) before it succeeds or fails."""
        fault = self._fault("refund")
        if fault == Fault.UNAVAILABLE:
            raise RailUnavailable("the payment service did not answer; try again")
        if key not in self.refunds:
            payment = self.payments.get(payment_reference)
            if payment is None or payment.status != RailStatus.SUCCEEDED:
                raise PaymentConflict("no succeeded charge to refund")
            if amount > payment.amount - self.refunded(payment_reference):
                raise PaymentConflict("the refund exceeds what is left of the charge")
            reference = f"re_{self._next()}"
            pending = self.rng.random() < 0.3
            self.refunds[key] = RailRefund(
                reference=reference,
                payment_reference=payment_reference,
                amount=amount,
                currency=currency,
                status=RefundStatus.PENDING if pending else RefundStatus.SUCCEEDED,
                key=key,
            )
            if not pending:
                self.refunded_at[reference] = self.clock.now()
        if fault == Fault.LOST:
            raise RailUnavailable("the payment service did not answer; try again")
        answer = self.refunds[key]
        if fault == Fault.CRASH_AFTER:
            raise Crash("after the refund was asked for")
        return answer

    def settle_refund(self, key: str, *, succeeded: bool) -> None:
        """The bank finished a pending refund; the rail tells the refunds endpoint."""
        refund = self.refunds[key]
        status = RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED
        self.refunds[key] = replace(
            refund, status=status, failure_reason=None if succeeded else "expired_or_canceled_card"
        )
        self.refunded_at[refund.reference] = self.clock.now()
        body = {
            "id": f"evt_{self._next()}",
            "type": "refund.updated" if succeeded else "refund.failed",
            "reference": refund.reference,
        }
        self.refund_events.append(json.dumps(body, sort_keys=True).encode())

    def retrieve_refund(self, reference: str) -> RailRefund:
        if self._fault("retrieve") == Fault.UNAVAILABLE:
            raise RailUnavailable("the payment service did not answer; try again")
        return next(r for r in self.refunds.values() if r.reference == reference)

    def parse_refund_event(self, raw_body: bytes, headers: Mapping[str, str]) -> RailRefundEvent:
        event = _verified(raw_body, headers)
        return RailRefundEvent(event["id"], event["type"], self.retrieve_refund(event["reference"]))


@dataclass
class SimPayoutRail:
    """The payout rail: one payout per key, statuses the seed moves, signed notices."""

    clock: Clock
    name: str = "sim-payouts"
    payouts: dict[str, RailPayout] = field(default_factory=dict)
    events: list[bytes] = field(default_factory=list)
    armed: dict[str, str] = field(default_factory=dict)
    serial: int = 0

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def fail_next(self, call: str, fault: str) -> None:
        self.armed[call] = fault

    def send(
        self,
        *,
        key: str,
        amount: int,
        currency: str,
        destination: PayoutDestination,
        disbursement_id: str,
        description: str,
    ) -> RailPayout:
        fault = self.armed.pop("send", None)
        if fault == Fault.UNAVAILABLE:
            raise PayoutRailUnavailable("the payout service did not answer")
        if key not in self.payouts:
            self.payouts[key] = RailPayout(
                reference=f"obp_{self._next()}",
                amount=amount,
                currency=currency,
                status=PayoutStatus.PROCESSING,
                created_at=self.clock.now(),
                disbursement_id=disbursement_id,
                key=key,
            )
        if fault == Fault.LOST:
            raise PayoutRailUnavailable("the payout service did not answer")
        if fault == Fault.CRASH_AFTER:
            raise Crash("after the payout was sent")
        return self.payouts[key]

    def find(self, *, key: str, since: datetime) -> RailPayout | None:
        return self.payouts.get(key)

    def retrieve(self, reference: str) -> RailPayout:
        return next(p for p in self.payouts.values() if p.reference == reference)

    def parse_event(self, raw_body: bytes, headers: Mapping[str, str]) -> PayoutEvent:
        event = _verified(raw_body, headers)
        return PayoutEvent(
            event_id=event["id"], event_type=event["type"], reference=event["reference"]
        )

    def move(self, key: str, status: PayoutStatus) -> None:
        """The bank moved the payout on; the rail sends a notice."""
        payout = self.payouts[key]
        self.payouts[key] = replace(
            payout,
            status=status,
            failure_reason=None if status == PayoutStatus.PAID else f"bank: {status.value}",
        )
        body = {
            "id": f"pevt_{self._next()}",
            "type": f"outbound_payment.{status.value}",
            "reference": payout.reference,
        }
        self.events.append(json.dumps(body, sort_keys=True).encode())
