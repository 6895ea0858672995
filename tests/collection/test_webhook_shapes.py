"""Signed webhooks of an unexpected shape: kept for review, answered 200 so Stripe stops
retrying, never posted, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.collection.models import StartPayment
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case, pay_at_rail, rail_event, sign


def deliver(api: Any, body: bytes) -> Any:
    now = int(wiring.clock().now().timestamp())
    return api.post("/webhooks/stripe", headers=sign(body, now), body=body)


def _bend(event: dict[str, Any], change: str) -> bytes:
    intent = event["data"]["object"]
    if change == "amount as text":
        intent["amount"] = str(intent["amount"])
    elif change == "amount with a fraction":
        intent["amount"] = intent["amount"] + 0.5
    elif change == "no currency":
        del intent["currency"]
    elif change == "no intent id":
        del intent["id"]
    elif change == "no event id":
        del event["id"]
    elif change == "metadata as a list":
        intent["metadata"] = [intent["metadata"]]
    elif change == "created in the year 10^22":
        event["created"] = 10**30
    elif change == "intent created in the year 10^22":
        intent["created"] = 10**30
    elif change == "deeply nested":
        intent["metadata"] = json.loads("[" * 200 + "]" * 200)
    elif change == "not an object":
        return b'"just a string"'
    return json.dumps(event).encode()


CHANGES = [
    "amount as text",
    "amount with a fraction",
    "no currency",
    "no intent id",
    "no event id",
    "metadata as a list",
    "created in the year 10^22",
    "intent created in the year 10^22",
    "deeply nested",
    "not an object",
]


@pytest.mark.parametrize("change", CHANGES)
def test_a_misshapen_signed_event_is_kept_for_review_and_never_posted(
    api: Any, token: Any, collection: CollectionService, localstripe: str, change: str
) -> None:
    case = open_case(amount=10_000)
    step = collection.start_payment(
        case.account_number, StartPayment(amount=3_000), idempotency_key=None
    )
    assert step.payment.rail_reference is not None
    pay_at_rail(localstripe, step.payment.rail_reference)
    good = json.loads(
        rail_event(localstripe, step.payment.rail_reference, "payment_intent.succeeded")
    )
    body = _bend(good, change)

    answer = deliver(api, body)
    assert answer.status_code == 200, answer.body
    assert json.loads(answer.body)["outcome"] == "malformed"
    assert deliver(api, body).status_code == 200  # Stripe's retry: kept once
    assert ledger_service().balance(case.account_number).posted == 0
    listed = api.get("/collection/reviews/events", headers=token("finance"))
    [record] = json.loads(listed.body)["items"]
    assert record["why"]
    assert record["body_start"] == body[:2000].decode()


def test_a_misshapen_event_with_a_bad_signature_is_still_refused(
    api: Any, clock: FixedClock, collection: CollectionService
) -> None:
    body = b'{"id": "evt_1", "amount": "lots"}'
    headers = sign(body, int(clock.now().timestamp()), secret="whsec_someone_else")
    answer = api.post("/webhooks/stripe", headers=headers, body=body)
    assert answer.status_code == 400
    assert collection.store.malformed_events(limit=10) == []
