"""The Stripe payout adapter: against the local stand-in's OutboundPayments (the same SDK calls
as production, with its signed events), and at the SDK's HTTP boundary for what the stand-in
cannot answer (5xx, rate limits, timeouts)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode
from urllib.request import Request, urlopen

import pytest
import stripe

from chalicelib.clock import FixedClock
from chalicelib.payouts import (
    PayoutDestination,
    PayoutRailRefused,
    PayoutRailUnavailable,
    PayoutStatus,
)
from chalicelib.payouts.errors import PayoutWebhookRejected
from chalicelib.payouts.stripe_payouts import StripePayoutRail, StripePayoutSettings
from tests.collection.conftest import ROOT, free_port, sign, wait_until_up

SECRET = "whsec_payout_tests"
DESTINATION = PayoutDestination(
    holder_name="张三", bank_name="中国工商银行佛山分行", account_number="6222020200112233445"
)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def settings(**changes: Any) -> StripePayoutSettings:
    values: dict[str, Any] = {
        "secret_key": "sk_test_payouts",
        "financial_account": "fa_court",
        "routing_number": "110000000",
        "webhook_secrets": (SECRET,),
    }
    return StripePayoutSettings(**(values | changes))


def send(rail: StripePayoutRail, key: str = "disbursement-D1-1", amount: int = 30_000) -> Any:
    return rail.send(
        key=key, amount=amount, currency="CNY", destination=DESTINATION,
        disbursement_id="D1", description="(2026)粤0604执1234号 案款发放",
    )  # fmt: skip


# -- the local stand-in ----------------------------------------------------------------------


class _Catcher(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, dict(self.headers.items())))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[str, type[_Catcher]]]:
    """The stand-in with OutboundPayments, delivering signed events to a catcher."""
    port, hook_port = free_port(), free_port()
    catcher = HTTPServer(("127.0.0.1", hook_port), _Catcher)
    threading.Thread(target=catcher.serve_forever, daemon=True).start()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "infra.stripe_local", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/js.stripe.com/v3/")
        data = urlencode({"url": f"http://127.0.0.1:{hook_port}/", "secret": SECRET}).encode()
        urlopen(Request(f"{url}/_config/webhooks/tests", data=data), timeout=5).close()  # noqa: S310
        yield url, _Catcher
    finally:
        process.terminate()
        process.wait(timeout=10)
        catcher.shutdown()


def local_rail(url: str) -> StripePayoutRail:
    return StripePayoutRail(settings(api_base=url), clock=FixedClock(datetime.now(UTC)))


def helper(url: str, reference: str, action: str) -> None:
    client = stripe.StripeClient("sk_test_payouts", base_addresses={"api": url})
    outbound = client.v1.test_helpers.treasury.outbound_payments
    {"post": outbound.post, "fail": outbound.fail, "return": outbound.return_outbound_payment}[
        action
    ](reference)


def test_the_same_key_is_the_same_payout_at_the_stand_in(stand_in: Any) -> None:
    url, _ = stand_in
    rail = local_rail(url)
    first = send(rail, key="disbursement-Dsame-1")
    again = send(rail, key="disbursement-Dsame-1")
    assert again.reference == first.reference
    assert (first.amount, first.currency, first.status) == (30_000, "CNY", PayoutStatus.PROCESSING)
    assert first.disbursement_id == "D1"
    assert first.key == "disbursement-Dsame-1"
    since = datetime.now(UTC) - timedelta(minutes=1)
    found = rail.find(key="disbursement-Dsame-1", since=since)
    assert found is not None
    assert found.reference == first.reference
    assert rail.find(key="disbursement-never-1", since=since) is None


@pytest.mark.parametrize(
    ("actions", "status"),
    [
        (["post"], PayoutStatus.PAID),
        (["fail"], PayoutStatus.FAILED),
        (["post", "return"], PayoutStatus.RETURNED),
    ],
)
def test_the_stand_in_moves_a_payout_as_the_test_helpers_say(
    stand_in: Any, actions: list[str], status: PayoutStatus
) -> None:
    url, _ = stand_in
    rail = local_rail(url)
    payout = send(rail, key=f"disbursement-D{'-'.join(actions)}-1")
    for action in actions:
        helper(url, payout.reference, action)
    seen = rail.retrieve(payout.reference)
    assert seen.status == status
    if status != PayoutStatus.PAID:
        assert seen.failure_reason


def test_each_change_comes_as_a_signed_event_the_rail_verifies(stand_in: Any) -> None:
    url, catcher = stand_in
    rail = local_rail(url)
    payout = send(rail, key="disbursement-Devents-1")
    helper(url, payout.reference, "post")

    def posted() -> list[tuple[bytes, dict[str, str]]]:
        return [
            (b, h) for b, h in catcher.received
            if json.loads(b)["type"] == "treasury.outbound_payment.posted"
            and json.loads(b)["data"]["object"]["id"] == payout.reference
        ]  # fmt: skip

    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while not posted() and datetime.now(UTC) < deadline:
        threading.Event().wait(0.2)
    [(body, headers)] = posted()
    event = rail.parse_event(body, headers)
    assert event.reference == payout.reference
    with pytest.raises(PayoutWebhookRejected):
        rail.parse_event(body.replace(b"posted", b"failed"), headers)


# -- at the SDK's HTTP boundary --------------------------------------------------------------


class CannedHTTP(stripe.HTTPClient):
    """Answers the SDK with canned responses (or raises), and keeps every request."""

    name = "canned"

    def __init__(self, *answers: tuple[int, dict[str, Any]] | Exception, retry: bool = False):
        super().__init__()
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        self.retry = retry

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        self.requests.append({"url": url, "headers": dict(headers or {}), "data": post_data})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        retry = self.retry and status >= 500
        return json.dumps(body), status, {"stripe-should-retry": str(retry).lower()}

    def close(self) -> None:
        return None


def outbound(status: str = "processing", **extra: Any) -> dict[str, Any]:
    return {
        "id": "obp_1", "object": "treasury.outbound_payment", "amount": 30_000,
        "currency": "cny", "status": status, "created": int(NOW.timestamp()),
        "metadata": {"disbursement_id": "D1", "key": "disbursement-D1-1"}, **extra,
    }  # fmt: skip


def boundary_rail(http: CannedHTTP) -> StripePayoutRail:
    return StripePayoutRail(settings(), clock=FixedClock(NOW), http_client=http)


def test_the_payout_carries_our_key_the_fen_amount_and_the_confirmed_account() -> None:
    http = CannedHTTP((200, outbound()))
    send(boundary_rail(http))
    [sent] = http.requests
    assert sent["url"].endswith("/v1/treasury/outbound_payments")
    assert sent["headers"]["Idempotency-Key"] == "disbursement-D1-1"
    body = {k: v[0] for k, v in parse_qs(sent["data"]).items()}
    assert body["amount"] == "30000"
    assert body["currency"] == "cny"
    assert body["financial_account"] == "fa_court"
    assert body["destination_payment_method_data[us_bank_account][account_number]"] == (
        "6222020200112233445"
    )
    assert body["destination_payment_method_data[billing_details][name]"] == "张三"
    assert body["metadata[disbursement_id]"] == "D1"


@pytest.mark.parametrize(
    "answer",
    [
        (500, {"error": {"type": "api_error", "message": "boom"}}),
        (429, {"error": {"type": "rate_limit_error", "message": "slow down"}}),
        stripe.APIConnectionError("timed out"),
        # another request with our key is still in flight: the payout may be under way, so
        # this is never a refusal (which would fail the attempt and release its money)
        (409, {"error": {"type": "invalid_request_error", "message": "concurrent request"}}),
        (400, {"error": {"type": "idempotency_error", "message": "key in use"}}),
    ],
    ids=["500", "rate limited", "timeout", "409 key in flight", "idempotency error"],
)
def test_no_answer_from_the_rail_is_reported_as_unavailable(answer: Any) -> None:
    with pytest.raises(PayoutRailUnavailable):
        send(boundary_rail(CannedHTTP(answer)))


def test_a_refused_request_is_reported_as_refused() -> None:
    http = CannedHTTP((400, {"error": {"type": "invalid_request_error", "message": "no"}}))
    with pytest.raises(PayoutRailRefused):
        send(boundary_rail(http))


def test_a_retried_send_reuses_our_idempotency_key() -> None:
    http = CannedHTTP((500, {"error": {"type": "api_error"}}), (200, outbound()), retry=True)
    payout = send(boundary_rail(http))
    assert payout.reference == "obp_1"
    keys = [r["headers"]["Idempotency-Key"] for r in http.requests]
    assert keys == ["disbursement-D1-1", "disbursement-D1-1"]


def test_a_returned_payout_says_why() -> None:
    http = CannedHTTP((200, outbound("returned", returned_details={"code": "account_closed"})))
    seen = boundary_rail(http).retrieve("obp_1")
    assert seen.status == PayoutStatus.RETURNED
    assert seen.failure_reason is not None
    assert "account_closed" in seen.failure_reason


def test_stale_and_future_webhooks_are_refused() -> None:
    rail = boundary_rail(CannedHTTP())
    body = json.dumps({"id": "evt_1", "type": "x", "data": {"object": outbound()}}).encode()
    fresh = sign(body, int(NOW.timestamp()), SECRET)
    assert rail.parse_event(body, fresh).reference == "obp_1"
    for moment in (NOW - timedelta(minutes=6), NOW + timedelta(minutes=1)):
        with pytest.raises(PayoutWebhookRejected):
            rail.parse_event(body, sign(body, int(moment.timestamp()), SECRET))
    with pytest.raises(PayoutWebhookRejected):
        rail.parse_event(body, sign(body, int(NOW.timestamp()), "whsec_someone_else"))
