"""The payment rail interface: what collection needs from Stripe, a bank or WeChat Pay.

Collection and the ledger speak only these types, so another rail replaces Stripe by
implementing ``PaymentRail`` and nothing else changes. Amounts are integer fen; currencies are
upper-case ISO codes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class RailStatus(StrEnum):
    """Where a payment stands at the rail."""

    AWAITING_METHOD = "awaiting_method"  # created, no card or wallet yet (or the last one failed)
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    REQUIRES_ACTION = "requires_action"  # the payer must authenticate (3-D Secure, wallet app)
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class RailEventKind(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PROCESSING = "processing"
    CANCELED = "canceled"
    OTHER = "other"  # an event collection does not act on; recorded and acknowledged


@dataclass(frozen=True)
class RailPayment:
    """A payment as the rail reports it. ``payment_id``, ``account_number``, ``case_id`` and
    ``court_code`` come from the metadata we attached when creating it; a payment made some
    other way has none of them (and one opened by earlier code has no case id or court)."""

    reference: str
    amount: int
    currency: str
    status: RailStatus
    created_at: datetime
    payment_id: str | None = None
    account_number: str | None = None
    case_id: str | None = None
    court_code: str | None = None
    failure_message: str | None = None
    client_secret: str | None = field(default=None, repr=False)


class MalformedEvent(Exception):
    """A verified event that does not have the shape collection acts on. ``key`` names it
    (its id, or a digest of the body when even the id is unreadable) so a retry is known."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(why)
        self.key = key
        self.why = why


@dataclass(frozen=True)
class RailEvent:
    """A verified notification from the rail."""

    event_id: str
    event_type: str
    kind: RailEventKind
    created_at: datetime
    payment: RailPayment | None


class RefundStatus(StrEnum):
    """Where a refund stands at the rail; ``succeeded``, ``failed`` and ``canceled`` are final."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def final(self) -> bool:
        return self is not RefundStatus.PENDING


@dataclass(frozen=True)
class RailRefund:
    """A refund as the rail reports it. ``key`` is the idempotency key we sent, carried in
    the refund's metadata so an event or a later lookup leads back to our refund attempt."""

    reference: str
    payment_reference: str
    amount: int
    currency: str
    status: RefundStatus
    key: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class RailRefundEvent:
    """A verified notification about a refund; the refund is read back before acting."""

    event_id: str
    event_type: str
    refund: RailRefund | None


class BalanceKind(StrEnum):
    """What moved the court's balance at the rail."""

    CHARGE = "charge"  # a payer's payment arrived
    REFUND = "refund"  # money went back to a payer
    PAYOUT = "payout"  # money left for a bank account or a creditor
    ADJUSTMENT = "adjustment"  # anything else the rail booked (disputes, corrections)


@dataclass(frozen=True)
class RailBalanceTransaction:
    """One movement of the court's balance at the rail, as the rail books it. ``reference`` is
    the rail object the ledger keys its transfer by (the payment, refund or payout id);
    ``amount`` is signed and gross, ``fee`` the rail's processing fee taken from it, so the
    balance moves by ``amount - fee``."""

    id: str
    kind: BalanceKind
    reference: str
    amount: int
    fee: int
    currency: str
    created_at: datetime

    @property
    def net(self) -> int:
        return self.amount - self.fee


@dataclass(frozen=True)
class BrowserSetup:
    """What the pay page needs to load the rail's browser library."""

    rail: str
    publishable_key: str
    script_url: str
    script_origins: tuple[str, ...]  # for the Content-Security-Policy of the pay page
    connect_origins: tuple[str, ...]
    frame_origins: tuple[str, ...]
    wallets: tuple[str, ...] = ()  # e.g. "alipay", "wechat_pay", offered beside cards


class PaymentRail(Protocol):
    """A way for payers to send money into the court's clearing account."""

    name: str

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
        """Open a payment for a case. ``key`` is our idempotency key: repeating the call with
        the same key returns the same payment. ``payment_id``, ``account_number``, ``case_id``
        and ``court_code`` travel with the payment, so its events lead back to it (and its
        case's records can be read with it); ``description`` is for people."""
        ...

    def confirm_with_card(self, reference: str, *, card_token: str) -> RailPayment:
        """Charge the card the payer entered in the rail's browser library (a one-time token;
        card numbers never reach our servers). A decline raises ``PaymentDeclined``."""
        ...

    def retrieve(self, reference: str) -> RailPayment:
        """The payment as the rail sees it now."""
        ...

    def succeeded_since(self, moment: datetime) -> Iterator[RailPayment]:
        """Every payment that succeeded at or after ``moment``, for the sweeper."""
        ...

    def balance_transactions(
        self, start: datetime, end: datetime
    ) -> Iterator[RailBalanceTransaction]:
        """Every movement of the court's balance booked at ``start <= time < end``, for
        reconciliation; the rail is the truth the ledger is checked against."""
        ...

    def parse_event(self, raw_body: bytes, headers: Mapping[str, str]) -> RailEvent:
        """Verify a webhook over its raw body and read it; ``WebhookRejected`` otherwise."""
        ...

    def browser_setup(self) -> BrowserSetup:
        """Settings for the pay page."""
        ...

    def refund(self, payment_reference: str, *, key: str, amount: int, currency: str) -> RailRefund:
        """Return ``amount`` of a payment to the payer, once per ``key``: a repeat with the same
        key (even after the rail forgot its idempotency record) returns the same refund."""
        ...

    def retrieve_refund(self, reference: str) -> RailRefund:
        """The refund as the rail sees it now."""
        ...

    def parse_refund_event(self, raw_body: bytes, headers: Mapping[str, str]) -> RailRefundEvent:
        """Verify a refund webhook over its raw body and read it; ``WebhookRejected`` otherwise."""
        ...
