"""Collection fixtures: localstripe as a real process, the Stripe settings pointing at it, an
outbox in a temporary folder, and helpers to open a case and get a card token."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import stripe

from chalicelib import wiring
from chalicelib.cases import Case
from chalicelib.cases.models import OpenCase
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.notifications import OutboxNotifier
from chalicelib.wiring import case_service, collection_service, ledger_service
from tests.cases.factories import filing
from tests.conftest import write_secrets

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec_collection_tests"
PUBLISHABLE_KEY = "pk_test_collection"
VISA = "4242424242424242"
DECLINED = "4000000000000341"  # localstripe declines it when charged
NEEDS_3DS = "4000002500003155"  # localstripe asks for 3-D Secure


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """localstripe on a free 127.0.0.1 port for the whole session; stopped at the end."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "infra.stripe_local", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/js.stripe.com/v3/")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def collection(
    aws: Any,
    localstripe: str,
    outbox: Path,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> CollectionService:
    """The collection service on moto and localstripe. The clock starts at the real time,
    because localstripe stamps its events and signatures with it."""
    monkeypatch.setenv("STRIPE_API_BASE", localstripe)
    keys = {
        "stripe-secret-key": "sk_test_collection",
        "stripe-publishable-key": PUBLISHABLE_KEY,
        "stripe-webhook-secret": WEBHOOK_SECRET,
    }
    monkeypatch.setenv("SECRETS_DIR", str(write_secrets(outbox.parent / "secrets", keys)))
    monkeypatch.setenv("NOTIFY_OUTBOX_DIR", str(outbox))
    clock.set(datetime.now(UTC).replace(microsecond=0))
    ledger_service().ensure_system_accounts()
    return collection_service()


@pytest.fixture
def rail_emptied(localstripe: str) -> None:
    """The sweeper asks the rail for every success in its window; start from an empty rail so
    other tests' payments are not in it."""
    request = urllib.request.Request(f"{localstripe}/_config/data", method="DELETE")  # noqa: S310
    urllib.request.urlopen(request, timeout=5).close()  # noqa: S310


def open_case(serial: int = 1234, amount: int = 10_000) -> Case:
    """A case owing ``amount`` fen, open, with its ledger account."""
    body = OpenCase.model_validate(filing(serial, adjudicated_amount=amount))
    return case_service().open(body, actor="clerk-1")[0]


def card_token(localstripe: str, number: str = VISA) -> str:
    """What Stripe.js returns for a card the payer typed: a one-time token."""
    data = urllib.parse.urlencode(
        {
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
            "key": PUBLISHABLE_KEY,
        }
    ).encode()
    with urllib.request.urlopen(f"{localstripe}/v1/tokens", data=data, timeout=5) as answer:  # noqa: S310
        return str(json.load(answer)["id"])


def sign(body: bytes, timestamp: int, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """The Stripe-Signature header for ``body`` at ``timestamp``, as Stripe computes it."""
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "Stripe-Signature": f"t={timestamp},v1={signature.hexdigest()}",
        "Content-Type": "application/json",
    }


def outbox_deliveries(outbox: Path) -> list[Any]:
    return OutboxNotifier(outbox / "notifications.jsonl", clock=wiring.clock()).deliveries()


def rail_client(localstripe: str) -> stripe.StripeClient:
    """The Stripe SDK on localstripe, acting as the payer's side or as Stripe itself."""
    return stripe.StripeClient("sk_test_collection", base_addresses={"api": localstripe})


def pay_at_rail(localstripe: str, reference: str, number: str = VISA) -> dict[str, Any]:
    """Confirm a PaymentIntent at the rail directly, as if our confirm answer had been lost:
    only a webhook or the sweeper can then tell the app."""
    client = rail_client(localstripe)
    token = client.v1.tokens.retrieve(card_token(localstripe, number))
    client.v1.payment_intents.update(reference, params={"payment_method": token.card.id})
    try:
        return client.v1.payment_intents.confirm(reference).to_dict()
    except stripe.CardError:
        return client.v1.payment_intents.retrieve(reference).to_dict()


def foreign_intent(localstripe: str, amount: int, currency: str = "cny", **metadata: str) -> str:
    """A PaymentIntent that did not come from our pay page."""
    intent = rail_client(localstripe).v1.payment_intents.create(
        params={"amount": amount, "currency": currency, "metadata": metadata}
    )
    return str(intent.id)


def rail_event(localstripe: str, reference: str, event_type: str) -> bytes:
    """The event localstripe recorded for a PaymentIntent, as the bytes it would deliver."""
    events = rail_client(localstripe).v1.events.list(params={"type": event_type})
    for event in events.auto_paging_iter():
        if event.data.object.id == reference:
            return json.dumps(event.to_dict(), indent=2, sort_keys=True).encode()
    raise AssertionError(f"localstripe has no {event_type} event for {reference}")


def synthetic_event(event_id: str, event_type: str, intent: dict[str, Any], created: int) -> bytes:
    """An event localstripe does not send by itself (e.g. ``payment_intent.processing``)."""
    body = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": created,
        "data": {"object": intent},
    }
    return json.dumps(body).encode()
