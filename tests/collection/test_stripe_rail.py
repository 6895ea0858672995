"""The Stripe adapter at the SDK's HTTP boundary, for what localstripe does not do: the
idempotency key on the wire, error mapping, event paging, real Stripe's browser settings and
webhook secret rotation."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.clock import FixedClock
from chalicelib.collection import PaymentDeclined, RailStatus, RailUnavailable, WebhookRejected
from chalicelib.collection.rail import MalformedEvent
from chalicelib.collection.stripe_rail import StripeRail, StripeSettings

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class RecordingHTTP(stripe.HTTPClient):
    """Answers the SDK with canned responses and keeps every request it was sent."""

    name = "recording"

    def __init__(self, *responses: tuple[int, dict[str, Any]]) -> None:
        super().__init__()
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        self.requests.append(
            {"method": method, "url": url, "headers": dict(headers or {}), "data": post_data}
        )
        status, body = self.responses.pop(0)
        return json.dumps(body), status, {"stripe-should-retry": "false"}

    def close(self) -> None:
        return None


def intent(status: str = "requires_payment_method", **extra: Any) -> dict[str, Any]:
    return {
        "id": "pi_123",
        "object": "payment_intent",
        "amount": 4_000,
        "currency": "cny",
        "status": status,
        "created": int(NOW.timestamp()),
        "client_secret": "pi_123_secret_abc",
        "metadata": {"payment_id": "pay_1", "case_account": "4406042600000016"},
        **extra,
    }


def rail(http: RecordingHTTP | None = None, **settings: Any) -> StripeRail:
    values: dict[str, Any] = {
        "secret_key": "sk_test_x",
        "publishable_key": "pk_test_x",
        "webhook_secrets": ("whsec_a",),
    }
    return StripeRail(
        StripeSettings(**(values | settings)), clock=FixedClock(NOW), http_client=http
    )


def form(data: Any) -> dict[str, str]:
    text = data.decode() if isinstance(data, bytes) else data
    return {k: v[0] for k, v in parse_qs(text).items()}


def test_payment_is_created_with_our_idempotency_key_amount_in_fen_cny_and_the_case() -> None:
    http = RecordingHTTP((200, intent()))
    payment = rail(http).create_payment(
        key="pay_1",
        amount=4_000,
        currency="CNY",
        payment_id="pay_1",
        account_number="4406042600000016",
        case_id="case_1",
        court_code="粤0604",
        description="(2026)粤0604执1234号",
    )

    [sent] = http.requests
    assert sent["method"] == "post"
    assert sent["url"].endswith("/v1/payment_intents")
    assert sent["headers"]["Idempotency-Key"] == "pay_1"
    body = form(sent["data"])
    assert body["amount"] == "4000"
    assert body["currency"] == "cny"
    assert body["metadata[payment_id]"] == "pay_1"
    assert body["metadata[case_account]"] == "4406042600000016"
    assert body["metadata[case_id]"] == "case_1"
    assert body["metadata[court]"] == "粤0604"
    assert (payment.reference, payment.currency, payment.status) == (
        "pi_123",
        "CNY",
        RailStatus.AWAITING_METHOD,
    )


def test_wallets_the_account_offers_are_requested_beside_cards() -> None:
    http = RecordingHTTP((200, intent()))
    rail(http, wallets=("alipay", "wechat_pay")).create_payment(
        key="pay_1",
        amount=4_000,
        currency="CNY",
        payment_id="pay_1",
        account_number="4406042600000016",
        case_id="case_1",
        court_code="粤0604",
        description="(2026)粤0604执1234号",
    )

    body = parse_qs(http.requests[0]["data"])
    assert body["payment_method_types[0]"] == ["card"]
    assert body["payment_method_types[1]"] == ["alipay"]
    assert body["payment_method_types[2]"] == ["wechat_pay"]


def test_unknown_wallet_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown wallets"):
        rail(wallets=("paypal",))


def test_declined_card_becomes_payment_declined() -> None:
    declined = {"error": {"type": "card_error", "code": "card_declined", "message": "Declined."}}
    http = RecordingHTTP(
        (200, {"id": "tok_1", "object": "token", "card": {"id": "card_1"}}),
        (200, intent(payment_method="card_1")),
        (402, declined),
    )
    with pytest.raises(PaymentDeclined) as raised:
        rail(http).confirm_with_card("pi_123", card_token="tok_1")
    assert raised.value.extensions["decline_code"] == "card_declined"
    assert form(http.requests[1]["data"]) == {"payment_method": "card_1"}


def test_rail_outage_is_a_retryable_error() -> None:
    http = RecordingHTTP((503, {"error": {"type": "api_error", "message": "down"}}))
    with pytest.raises(RailUnavailable):
        rail(http).retrieve("pi_123")


def test_sweeper_listing_pages_through_succeeded_events_since_the_window() -> None:
    def event(number: int) -> dict[str, Any]:
        return {
            "id": f"evt_{number}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(NOW.timestamp()),
            "data": {"object": intent("succeeded", id=f"pi_{number}")},
        }

    http = RecordingHTTP(
        (200, {"object": "list", "url": "/v1/events", "has_more": True, "data": [event(1)]}),
        (200, {"object": "list", "url": "/v1/events", "has_more": False, "data": [event(2)]}),
    )
    found = list(rail(http).succeeded_since(NOW))

    assert [p.reference for p in found] == ["pi_1", "pi_2"]
    first, second = (unquote(urlsplit(r["url"]).query) for r in http.requests)
    assert "type=payment_intent.succeeded" in first
    assert f"created[gte]={int(NOW.timestamp())}" in first
    assert "starting_after=evt_1" in second


def test_real_stripe_browser_settings() -> None:
    setup = rail().browser_setup()
    assert setup.script_url == "https://js.stripe.com/v3/"
    assert setup.connect_origins == ("https://api.stripe.com",)
    assert "https://hooks.stripe.com" in setup.frame_origins


def test_localstripe_browser_settings() -> None:
    setup = rail(api_base="http://127.0.0.1:8420").browser_setup()
    assert setup.script_url == "http://127.0.0.1:8420/js.stripe.com/v3/"
    assert setup.script_origins == setup.connect_origins == ("http://127.0.0.1:8420",)


def signed(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"stripe-signature": f"t={timestamp},v1={digest.hexdigest()}"}


def test_webhook_signed_with_either_secret_verifies_while_one_is_rotated() -> None:
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "payment_intent.succeeded",
            "created": int(NOW.timestamp()),
            "data": {"object": intent("succeeded")},
        }
    ).encode()
    rotating = rail(webhook_secrets=("whsec_old", "whsec_new"))
    for secret in ("whsec_old", "whsec_new"):
        event = rotating.parse_event(body, signed(body, secret, int(NOW.timestamp())))
        assert event.payment is not None
        assert (event.payment.reference, event.payment.payment_id) == ("pi_123", "pay_1")
    with pytest.raises(WebhookRejected):
        rotating.parse_event(body, signed(body, "whsec_other", int(NOW.timestamp())))


@pytest.mark.parametrize(
    "header",
    ["", "t=abc,v1=00", "v1=00", "t=1700000000", "garbage"],
    ids=["empty", "text-timestamp", "no-timestamp", "no-signature", "garbage"],
)
def test_malformed_signature_header_is_refused(header: str) -> None:
    with pytest.raises(WebhookRejected):
        rail().parse_event(b"{}", {"Stripe-Signature": header})


def test_signed_body_that_is_not_an_event_is_named_malformed_not_acted_on() -> None:
    body = b"[1, 2, 3]"
    with pytest.raises(MalformedEvent) as raised:
        rail().parse_event(body, signed(body, "whsec_a", int(NOW.timestamp())))
    assert raised.value.key.startswith("body-")  # a retry of the same body is the same key


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_change_to_a_signed_body_is_refused(position: int, flip: int) -> None:
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "payment_intent.succeeded",
            "created": int(NOW.timestamp()),
            "data": {"object": intent("succeeded")},
        }
    ).encode()
    headers = signed(body, "whsec_a", int(NOW.timestamp()))
    index = position % len(body)
    altered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(WebhookRejected):
        rail().parse_event(altered, headers)


def event_body() -> bytes:
    return json.dumps(
        {
            "id": "evt_1",
            "type": "payment_intent.succeeded",
            "created": int(NOW.timestamp()),
            "data": {"object": intent("succeeded")},
        }
    ).encode()


@pytest.mark.parametrize(
    "configured",
    ["whsec_a,", ",whsec_a", "whsec_a,,whsec_b", " whsec_a , "],
    ids=["trailing-comma", "leading-comma", "double-comma", "spaces"],
)
def test_empty_webhook_secret_in_the_rotation_list_never_verifies_a_forgery(
    configured: str,
) -> None:
    """HMAC under an empty key is something anyone can compute; a stray comma in
    STRIPE_WEBHOOK_SECRET must not turn it into an accepted secret."""
    secrets = tuple(configured.split(","))  # as the wiring splits the variable
    body = event_body()
    with pytest.raises(WebhookRejected):
        rail(webhook_secrets=secrets).parse_event(body, signed(body, "", int(NOW.timestamp())))
    event = rail(webhook_secrets=secrets).parse_event(
        body, signed(body, "whsec_a", int(NOW.timestamp()))
    )
    assert event.event_id == "evt_1"


def test_without_any_webhook_secret_every_webhook_is_refused() -> None:
    """Fail closed for webhooks only: the pay page keeps working and the sweeper posts."""
    body = event_body()
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        rail(webhook_secrets=("", " ")).parse_event(body, signed(body, "", int(NOW.timestamp())))


def test_one_matching_signature_among_several_v1_values_verifies() -> None:
    """Stripe sends one v1 per active endpoint secret while the endpoint's secret is rolled."""
    body = event_body()
    good = signed(body, "whsec_a", int(NOW.timestamp()))["stripe-signature"]
    timestamp, signature = good.split(",")
    header = f"{timestamp},v1={'0' * 64},{signature},v0={'f' * 64}"
    assert rail().parse_event(body, {"Stripe-Signature": header}).event_id == "evt_1"


def test_a_v0_signature_alone_is_not_accepted() -> None:
    body = event_body()
    good = signed(body, "whsec_a", int(NOW.timestamp()))["stripe-signature"]
    with pytest.raises(WebhookRejected):
        rail().parse_event(body, {"Stripe-Signature": good.replace("v1=", "v0=")})


def test_signature_with_non_ascii_characters_is_refused_not_an_error() -> None:
    body = event_body()
    header = f"t={int(NOW.timestamp())},v1=\u00e9{'0' * 63}"
    with pytest.raises(WebhookRejected):
        rail().parse_event(body, {"Stripe-Signature": header})
