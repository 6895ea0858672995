"""The payout rail interface: what paying creditors needs from Stripe, a bank or WeChat Pay.

It sits beside the payment rail (``chalicelib.collection.rail``). The disbursement workflow and
the ledger speak only these types, so a bank rail replaces Stripe by implementing
``PayoutRail``. Amounts are integer fen; currencies upper-case ISO codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class PayoutStatus(StrEnum):
    """Where a payout stands at the rail."""

    PROCESSING = "processing"  # accepted, on its way to the bank
    PAID = "paid"  # the bank credited the creditor's account
    FAILED = "failed"  # never arrived (closed account, wrong number); nothing left the court
    RETURNED = "returned"  # arrived or was under way, and the bank sent it back
    CANCELED = "canceled"


@dataclass(frozen=True)
class PayoutDestination:
    """The creditor's receiving account, as confirmed at filing."""

    holder_name: str
    bank_name: str
    account_number: str


@dataclass(frozen=True)
class RailPayout:
    """A payout as the rail reports it. ``disbursement_id`` and ``key`` come from the metadata
    we attached when sending it."""

    reference: str
    amount: int
    currency: str
    status: PayoutStatus
    created_at: datetime
    disbursement_id: str | None = None
    key: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class PayoutEvent:
    """A verified notice from the rail that a payout changed; the payout is read back from
    the rail before anything moves."""

    event_id: str
    event_type: str
    reference: str | None


class PayoutRail(Protocol):
    """A way to send money from the court to a creditor's bank account."""

    name: str

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
        """Send one payout. ``key`` is our idempotency key: the same key is the same payout,
        however often the call is repeated. Raises ``PayoutRailUnavailable`` when the rail
        gave no answer (the payout may or may not exist) and ``PayoutRailRefused`` when it
        refused the request (nothing was sent)."""
        ...

    def find(self, *, key: str, since: datetime) -> RailPayout | None:
        """The payout sent under ``key`` at or after ``since``, if the rail has one: asked
        before sending again after a crash."""
        ...

    def retrieve(self, reference: str) -> RailPayout:
        """The payout as the rail sees it now."""
        ...

    def parse_event(self, raw_body: bytes, headers: Mapping[str, str]) -> PayoutEvent:
        """Verify a webhook over its raw body; ``PayoutWebhookRejected`` otherwise."""
        ...
