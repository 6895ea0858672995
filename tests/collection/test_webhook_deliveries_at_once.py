"""Two deliveries of one webhook at the same moment, and deliveries while the rail is down: the
payment posts once and now, the event keeps the outcome that happened, and a duplicate stays a
duplicate whether or not Stripe answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from chalicelib.clock import FixedClock, isoformat
from chalicelib.collection import CollectionService
from chalicelib.collection.models import MalformedEventRecord, StartPayment
from chalicelib.dynamo import from_item, to_item
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case, pay_at_rail, rail_event, sign


def succeeded_event(collection: CollectionService, localstripe: str, account: str) -> bytes:
    step = collection.start_payment(account, StartPayment(amount=2_000), idempotency_key=None)
    reference = step.payment.rail_reference
    assert reference is not None
    pay_at_rail(localstripe, reference)
    return rail_event(localstripe, reference, "payment_intent.succeeded")


def deliver(api: Any, clock: FixedClock, body: bytes) -> Any:
    return api.post("/webhooks/stripe", headers=sign(body, int(clock.now().timestamp())), body=body)


def event_record(collection: CollectionService, event_id: str) -> dict[str, Any]:
    key = to_item({"pk": f"EVENT#stripe#{event_id}", "sk": "EVENT"})
    store = collection.store
    return from_item(store._db.get_item(TableName=store._table, Key=key)["Item"])


def the_other_delivery_records_first(
    collection: CollectionService, monkeypatch: pytest.MonkeyPatch, record: Any
) -> None:
    """Between this delivery's read and its transaction, the other delivery (which read the
    intent while it was still processing) records the event."""
    read = collection.store.webhook_read

    def then_the_other_records(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        record(args[1])
        return found

    monkeypatch.setattr(collection.store, "webhook_read", then_the_other_records)


def test_a_delivery_racing_one_that_saw_the_payment_processing_posts_now_and_once(
    api: Any,
    clock: FixedClock,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=10_000)
    body = succeeded_event(collection, localstripe, case.account_number)
    event_id = json.loads(body)["id"]
    received = isoformat(clock.now())

    def followed(event: str) -> None:
        assert collection.store.record_event(
            "stripe", event, "payment_intent.succeeded", "followed", (received, received)
        )

    the_other_delivery_records_first(collection, monkeypatch, followed)
    answer = deliver(api, clock, body)
    assert answer.status_code == 200, answer.body
    assert json.loads(answer.body)["outcome"] == "posted"
    monkeypatch.undo()

    recorded = event_record(collection, event_id)
    assert (recorded["state"], recorded["outcome"]) == ("processed", "posted")
    assert recorded["received_at"] == received  # the first delivery's arrival is kept
    assert collection.store.standing(case.case_id).paid == 2_000
    again = deliver(api, clock, body)
    assert json.loads(again.body)["outcome"] == "duplicate"
    assert ledger_service().balance(case.account_number).posted == 2_000


def test_an_event_kept_as_malformed_meanwhile_does_not_stop_the_payment(
    api: Any,
    clock: FixedClock,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=10_000)
    body = succeeded_event(collection, localstripe, case.account_number)
    event_id = json.loads(body)["id"]

    def malformed(event: str) -> None:
        record = MalformedEventRecord(
            key=event, rail="stripe", why="odd", received_at=clock.now(), body_start="{"
        )
        assert collection.store.record_malformed_event(record)

    the_other_delivery_records_first(collection, monkeypatch, malformed)
    answer = deliver(api, clock, body)
    assert answer.status_code == 200, answer.body
    assert json.loads(answer.body)["outcome"] == "posted"
    assert event_record(collection, event_id)["state"] == "malformed"  # left for review
    assert ledger_service().balance(case.account_number).posted == 2_000
    assert collection.store.standing(case.case_id).payments == 1


def rail_down(collection: CollectionService, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stripe stops answering: every retrieve fails in the SDK as an outage does. Returns the
    references asked for."""
    asked: list[str] = []

    def no_answer(reference: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(reference)
        raise stripe.APIConnectionError("could not connect to Stripe")

    intents = collection.rail._client.v1.payment_intents  # type: ignore[attr-defined]
    monkeypatch.setattr(intents, "retrieve", no_answer)
    return asked


def test_while_stripe_is_down_a_recorded_event_is_a_duplicate_and_a_new_one_comes_again(
    api: Any,
    clock: FixedClock,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=10_000)
    recorded = succeeded_event(collection, localstripe, case.account_number)
    assert json.loads(deliver(api, clock, recorded).body)["outcome"] == "posted"
    new = succeeded_event(collection, localstripe, case.account_number)

    asked = rail_down(collection, monkeypatch)
    duplicate = deliver(api, clock, recorded)
    assert duplicate.status_code == 200
    assert json.loads(duplicate.body)["outcome"] == "duplicate"
    refused = deliver(api, clock, new)
    assert refused.status_code == 503
    assert json.loads(refused.body)["type"].endswith("collection/rail-unavailable")
    assert len(asked) == 2  # the rail was asked both times: it is the truth when it answers
    assert collection.store.event_state("stripe", json.loads(new)["id"]) is None
    assert ledger_service().balance(case.account_number).posted == 2_000

    monkeypatch.undo()  # Stripe answers again, and delivers the new event again
    assert json.loads(deliver(api, clock, new).body)["outcome"] == "posted"
    assert ledger_service().balance(case.account_number).posted == 4_000
