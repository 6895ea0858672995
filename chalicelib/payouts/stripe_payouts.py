"""The Stripe payout rail: Treasury OutboundPayments to the creditor's bank account.

One OutboundPayment per attempt, created from the court's financial account under our own
idempotency key, with the disbursement id in its metadata. Its status moves from
``processing`` to ``posted``, ``failed``, ``canceled`` or ``returned``, each with a signed
``treasury.outbound_payment.*`` event. The README says why this and not Connect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.payouts.errors import (
    PayoutRailRefused,
    PayoutRailUnavailable,
    PayoutWebhookRejected,
)
from chalicelib.payouts.rail import PayoutDestination, PayoutEvent, PayoutStatus, RailPayout
from chalicelib.stripe_api import (
    StripeAdapter,
    StripeFailures,
    webhook_secrets,
)

_STATUSES = {
    "processing": PayoutStatus.PROCESSING,
    "posted": PayoutStatus.PAID,
    "failed": PayoutStatus.FAILED,
    "returned": PayoutStatus.RETURNED,
    "canceled": PayoutStatus.CANCELED,
}


@dataclass(frozen=True)
class StripePayoutSettings:
    """The court's Treasury financial account, keys and endpoints. ``routing_number`` is the
    bank routing code Stripe's ``us_bank_account`` destination needs: the receiving accounts
    confirmed at filing carry no bank code yet (see the README)."""

    secret_key: str
    financial_account: str
    routing_number: str
    webhook_secrets: tuple[str, ...]
    api_base: str | None = None
    tolerance: timedelta = timedelta(minutes=5)
    future_skew: timedelta = timedelta(seconds=30)
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "webhook_secrets", webhook_secrets(self.webhook_secrets))


def payout_from_object(data: Mapping[str, Any]) -> RailPayout:
    """An OutboundPayment (a plain dict, from the API or a webhook) as a ``RailPayout``."""
    metadata = data.get("metadata") or {}
    returned = data.get("returned_details") or {}
    status = _STATUSES.get(str(data.get("status")), PayoutStatus.PROCESSING)
    reason = None
    if status == PayoutStatus.RETURNED:
        reason = f"returned by the bank: {returned.get('code') or 'no reason given'}"
    elif status == PayoutStatus.FAILED:
        reason = str(data.get("failure_reason") or "the bank did not accept the payout")
    elif status == PayoutStatus.CANCELED:
        reason = "the payout was cancelled before it left"
    return RailPayout(
        reference=str(data["id"]),
        amount=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        status=status,
        created_at=datetime.fromtimestamp(int(data.get("created", 0)), UTC),
        disbursement_id=metadata.get("disbursement_id"),
        key=metadata.get("key"),
        failure_reason=reason,
    )


class StripePayoutRail(StripeAdapter[StripePayoutSettings]):
    """``PayoutRail`` on Stripe Treasury OutboundPayments."""

    failures = StripeFailures(
        service="the payout service",
        refused=PayoutRailRefused,
        unavailable=PayoutRailUnavailable,
        rejected=PayoutWebhookRejected,
        credentials=PayoutRailUnavailable,  # keys, permissions: nothing was sent
    )

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
        params: dict[str, Any] = {
            "financial_account": self._settings.financial_account,
            "amount": amount,
            "currency": currency.lower(),
            "description": description[:500],
            "destination_payment_method_data": {
                "type": "us_bank_account",
                "billing_details": {"name": destination.holder_name},
                "us_bank_account": {
                    "account_number": destination.account_number,
                    "routing_number": self._settings.routing_number,
                },
            },
            "metadata": {"disbursement_id": disbursement_id, "key": key},
        }
        payment = self._call(
            lambda: self._client.v1.treasury.outbound_payments.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": key},
            )
        )
        return payout_from_object(payment.to_dict())

    def find(self, *, key: str, since: datetime) -> RailPayout | None:
        page = self._call(
            lambda: self._client.v1.treasury.outbound_payments.list(
                params={
                    "financial_account": self._settings.financial_account,
                    "created": {"gte": int(since.timestamp()) - 60},
                    "limit": 100,
                }
            )
        )
        for payment in page.auto_paging_iter():
            payout = payout_from_object(payment.to_dict())
            if payout.key == key:
                return payout
        return None

    def retrieve(self, reference: str) -> RailPayout:
        payment = self._call(lambda: self._client.v1.treasury.outbound_payments.retrieve(reference))
        return payout_from_object(payment.to_dict())

    def parse_event(self, raw_body: bytes, headers: Mapping[str, str]) -> PayoutEvent:
        self._verify(raw_body, headers)
        try:
            event = json.loads(raw_body)
            data = event["data"]["object"]
            event_id, event_type = str(event["id"]), str(event["type"])
        except (ValueError, KeyError, TypeError) as error:
            raise PayoutWebhookRejected("the webhook body is not a Stripe event") from error
        reference = None
        if isinstance(data, dict) and data.get("object") == "treasury.outbound_payment":
            reference = str(data["id"])
        return PayoutEvent(event_id=event_id, event_type=event_type, reference=reference)
