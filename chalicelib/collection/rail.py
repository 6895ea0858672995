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
    """A payment as the rail reports it. ``payment_id`` and ``account_number`` come from the
    metadata we attached when creating it; a payment made some other way has neither."""

    reference: str
    amount: int
    currency: str
    status: RailStatus
    created_at: datetime
    payment_id: str | None = None
    account_number: str | None = None
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
        description: str,
    ) -> RailPayment:
        """Open a payment for a case. ``key`` is our idempotency key: repeating the call with
        the same key returns the same payment. ``payment_id`` and ``account_number`` travel
        with the payment, so its events lead back to it; ``description`` is for people."""
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

    def parse_event(self, raw_body: bytes, headers: Mapping[str, str]) -> RailEvent:
        """Verify a webhook over its raw body and read it; ``WebhookRejected`` otherwise."""
        ...

    def browser_setup(self) -> BrowserSetup:
        """Settings for the pay page."""
        ...
