"""The Stripe rail: PaymentIntents, signed webhooks, succeeded events and balance transactions.

Card data goes from the payer's browser to Stripe.js, which returns a one-time token; the
server attaches it to the PaymentIntent and confirms there ("finalise on the server"), and the
page finishes any 3-D Secure step with ``stripe.confirmCardPayment``. This is the flow both
Stripe and the localstripe stand-in (used by the local stack and the tests) support.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from chalicelib import jsondepth
from chalicelib.collection.errors import (
    PaymentConflict,
    PaymentDeclined,
    RailUnavailable,
    WebhookRejected,
)
from chalicelib.collection.rail import (
    BalanceKind,
    BrowserSetup,
    MalformedEvent,
    RailBalanceTransaction,
    RailEvent,
    RailEventKind,
    RailPayment,
    RailRefund,
    RailRefundEvent,
    RefundStatus,
)
from chalicelib.collection.stripe_events import MisshapenData, event_shape, intent_payment
from chalicelib.stripe_api import (
    StripeAdapter,
    StripeFailures,
    webhook_secrets,
)

STRIPE_API = "https://api.stripe.com"
WALLETS = frozenset({"alipay", "wechat_pay"})  # Stripe payment method types for Chinese wallets
STRIPE_JS = "https://js.stripe.com/v3/"
MAX_EVENT_DEPTH = 32  # Stripe's events nest a handful of levels

_EVENT_KINDS = {
    "payment_intent.succeeded": RailEventKind.SUCCEEDED,
    "payment_intent.payment_failed": RailEventKind.FAILED,
    "payment_intent.processing": RailEventKind.PROCESSING,
    "payment_intent.canceled": RailEventKind.CANCELED,
}


@dataclass(frozen=True)
class StripeSettings:
    """Keys and endpoints. ``api_base`` points the SDK at localstripe in the local stack;
    several webhook secrets are accepted while one is being rotated."""

    secret_key: str
    publishable_key: str
    webhook_secrets: tuple[str, ...]
    api_base: str | None = None
    js_url: str | None = None
    tolerance: timedelta = timedelta(minutes=5)  # Stripe's own default for replayed events
    future_skew: timedelta = timedelta(seconds=30)  # clocks disagree a little, never minutes
    timeout_seconds: float = 10.0
    wallets: tuple[str, ...] = ()  # enable only those the Stripe account has activated

    def __post_init__(self) -> None:
        object.__setattr__(self, "webhook_secrets", webhook_secrets(self.webhook_secrets))
        unknown = set(self.wallets) - WALLETS
        if unknown:
            raise ValueError(f"unknown wallets {sorted(unknown)}; known: {sorted(WALLETS)}")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _from_timestamp(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


_REFUND_STATUSES = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}


def refund_from_object(data: Mapping[str, Any]) -> RailRefund:
    """A Refund (as a plain dict, from the API or a webhook) as a ``RailRefund``."""
    metadata = data.get("metadata") or {}
    return RailRefund(
        reference=str(data["id"]),
        payment_reference=str(data.get("payment_intent") or data.get("charge") or ""),
        amount=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        status=_REFUND_STATUSES.get(str(data.get("status")), RefundStatus.PENDING),
        key=metadata.get("refund_key"),
        failure_reason=data.get("failure_reason"),
    )


_BALANCE_KINDS = {
    "charge": BalanceKind.CHARGE,
    "payment": BalanceKind.CHARGE,
    "refund": BalanceKind.REFUND,
    "payment_refund": BalanceKind.REFUND,
    "payout": BalanceKind.PAYOUT,
    "transfer": BalanceKind.PAYOUT,
}


def balance_from_object(data: Mapping[str, Any]) -> RailBalanceTransaction:
    """A Stripe balance transaction as a ``RailBalanceTransaction``. A charge is referenced
    by its PaymentIntent (when the source is expanded), anything else by its source's id."""
    source = data.get("source")
    reference = str(data["id"])
    if isinstance(source, Mapping):
        reference = str(source.get("payment_intent") or source.get("id") or reference)
    elif source:
        reference = str(source)
    return RailBalanceTransaction(
        id=str(data["id"]),
        kind=_BALANCE_KINDS.get(str(data.get("type")), BalanceKind.ADJUSTMENT),
        reference=reference,
        amount=int(data["amount"]),
        fee=int(data.get("fee") or 0),
        currency=str(data["currency"]).upper(),
        created_at=_from_timestamp(data.get("created", 0)),
    )


class StripeRail(StripeAdapter[StripeSettings]):
    """``PaymentRail`` on Stripe's PaymentIntents API."""

    failures = StripeFailures(
        service="the payment service",
        refused=PaymentConflict,
        unavailable=RailUnavailable,
        rejected=WebhookRejected,
        declined=lambda message, code: PaymentDeclined(message, decline_code=code),
    )

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
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            # In metadata, not ``description``, which localstripe does not take.
            "metadata": {
                "payment_id": payment_id,
                "case_account": account_number,
                "case_id": case_id,
                "court": court_code,
                "case": description,
            },
        }
        if self._settings.wallets:
            params["payment_method_types"] = ["card", *self._settings.wallets]
        intent = self._call(
            lambda: self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": key},
            )
        )
        return intent_payment(intent.to_dict())

    def confirm_with_card(self, reference: str, *, card_token: str) -> RailPayment:
        token = self._call(lambda: self._client.v1.tokens.retrieve(card_token))
        card_id = token.to_dict().get("card", {}).get("id")
        if not card_id:
            raise PaymentConflict("the card token carries no card; enter the card again")
        self._call(
            lambda: self._client.v1.payment_intents.update(
                reference, params={"payment_method": card_id}
            )
        )
        intent = self._call(lambda: self._client.v1.payment_intents.confirm(reference))
        return intent_payment(intent.to_dict())

    def retrieve(self, reference: str) -> RailPayment:
        intent = self._call(lambda: self._client.v1.payment_intents.retrieve(reference))
        return intent_payment(intent.to_dict())

    def succeeded_since(self, moment: datetime) -> Iterator[RailPayment]:
        events = self._call(
            lambda: self._client.v1.events.list(
                params={
                    "type": "payment_intent.succeeded",
                    "created": {"gte": int(moment.timestamp())},
                    "limit": 100,
                }
            )
        )
        seen: set[str] = set()
        for event in events.auto_paging_iter():
            payment = intent_payment(event.to_dict()["data"]["object"])
            if payment.reference not in seen:
                seen.add(payment.reference)
                yield payment

    def balance_transactions(
        self, start: datetime, end: datetime
    ) -> Iterator[RailBalanceTransaction]:
        listing = self._call(
            lambda: self._client.v1.balance_transactions.list(
                params={
                    "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
                    "limit": 100,
                    # The charge behind a transaction names its PaymentIntent, the reference
                    # the ledger keys a collection by.
                    "expand": ["data.source"],
                }
            )
        )
        for item in listing.auto_paging_iter():
            yield balance_from_object(item.to_dict())

    def parse_event(self, raw_body: bytes, headers: Mapping[str, str]) -> RailEvent:
        """A verified event, or ``MalformedEvent`` when its shape is not one collection acts
        on (it is then recorded for review, never posted)."""
        self._verify(raw_body, headers)
        key = "body-" + hashlib.sha256(raw_body).hexdigest()[:32]
        try:
            text = raw_body.decode("utf-8")
            if jsondepth.exceeds(text, MAX_EVENT_DEPTH):
                raise MalformedEvent(key, f"the event nests deeper than {MAX_EVENT_DEPTH} levels")
            event = event_shape(json.loads(text))
        except (UnicodeDecodeError, ValueError) as error:
            raise MalformedEvent(key, f"the event is not a Stripe event: {error}") from error
        data = event.data.object
        payment = None
        if data.get("object") == "payment_intent":
            try:
                payment = intent_payment(data)
            except MisshapenData as error:
                raise MalformedEvent(event.id, f"the payment intent: {error}") from error
        return RailEvent(
            event_id=event.id,
            event_type=event.type,
            kind=_EVENT_KINDS.get(event.type, RailEventKind.OTHER),
            created_at=datetime.fromtimestamp(event.created, UTC),
            payment=payment,
        )

    def refund(self, payment_reference: str, *, key: str, amount: int, currency: str) -> RailRefund:
        # Stripe forgets an idempotency key after 24 hours; a refund attempt carries its key in
        # metadata too, so a retry days later finds the refund made rather than making another.
        listed = self._call(
            lambda: self._client.v1.refunds.list(
                params={"payment_intent": payment_reference, "limit": 100}
            )
        )
        for existing in listed.auto_paging_iter():
            found = refund_from_object(existing.to_dict())
            if found.key == key:
                return found
        created = self._call(
            lambda: self._client.v1.refunds.create(
                params={
                    "payment_intent": payment_reference,
                    "amount": amount,
                    "metadata": {"refund_key": key},
                },
                options={"idempotency_key": key},
            )
        )
        return refund_from_object(created.to_dict())

    def retrieve_refund(self, reference: str) -> RailRefund:
        return refund_from_object(
            self._call(lambda: self._client.v1.refunds.retrieve(reference)).to_dict()
        )

    def parse_refund_event(self, raw_body: bytes, headers: Mapping[str, str]) -> RailRefundEvent:
        self._verify(raw_body, headers)
        try:
            event = json.loads(raw_body)
            event_id, event_type = str(event["id"]), str(event["type"])
            data = event["data"]["object"]
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookRejected("the webhook body is not a Stripe event") from error
        refund = None
        if isinstance(data, dict) and data.get("object") == "refund":
            try:
                refund = refund_from_object(data)
            except (KeyError, TypeError, ValueError) as error:
                raise WebhookRejected("the refund in the event is malformed") from error
        return RailRefundEvent(event_id=event_id, event_type=event_type, refund=refund)

    def browser_setup(self) -> BrowserSetup:
        api = self._settings.api_base or STRIPE_API
        js = self._settings.js_url or (
            f"{api}/js.stripe.com/v3/" if self._settings.api_base else STRIPE_JS
        )
        frames = (
            (_origin(js),) if self._settings.api_base else (_origin(js), "https://hooks.stripe.com")
        )
        return BrowserSetup(
            rail=self.name,
            publishable_key=self._settings.publishable_key,
            script_url=js,
            script_origins=(_origin(js),),
            connect_origins=(_origin(api),),
            frame_origins=frames,
            wallets=self._settings.wallets,
        )
