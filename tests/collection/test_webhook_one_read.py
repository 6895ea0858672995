"""A webhook reads what it needs in one BatchGetItem (its event, the payment and the case the
rail's own metadata names, that case's standing and receipt counter) and records its event in
the settlement's transaction; the metadata is checked against our payment before any of it is
used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService, PaymentStatus
from chalicelib.collection.models import StartPayment
from chalicelib.dynamo import from_item
from chalicelib.wiring import ledger_service, settings
from tests.collection.conftest import (
    open_case,
    outbox_deliveries,
    pay_at_rail,
    rail_client,
    rail_event,
    sign,
)


class Calls:
    """Every DynamoDB call the collection store's client makes: its name and its request."""

    def __init__(self) -> None:
        self.made: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.made.append((model.name, params))

    def names(self) -> list[str]:
        return [name for name, _ in self.made]


def started(collection: CollectionService, account: str, amount: int) -> tuple[str, str]:
    step = collection.start_payment(account, StartPayment(amount=amount), idempotency_key=None)
    assert step.payment.rail_reference is not None
    return step.payment.payment_id, step.payment.rail_reference


def deliver(api: Any, clock: FixedClock, body: bytes) -> dict[str, Any]:
    answer = api.post(
        "/webhooks/stripe", headers=sign(body, int(clock.now().timestamp())), body=body
    )
    assert answer.status_code == 200
    return dict(json.loads(answer.body))


def test_a_new_event_reads_once_commits_once_and_tells_the_creditor(
    api: Any, clock: FixedClock, collection: CollectionService, localstripe: str, outbox: Path
) -> None:
    case = open_case(amount=10_000)
    payment_id, reference = started(collection, case.account_number, 2_000)
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")
    event_id = json.loads(body)["id"]
    ledger_service().balance(case.account_number)  # the ledger's accounts as a warm Lambda

    calls = Calls()
    events = collection.store._db.meta.events
    events.register("before-parameter-build.dynamodb", calls, unique_id="webhook-one-read")
    try:
        assert deliver(api, clock, body)["outcome"] == "posted"
        first = len(calls.made)
        assert deliver(api, clock, body)["outcome"] == "duplicate"
    finally:
        events.unregister("before-parameter-build.dynamodb", unique_id="webhook-one-read")

    config = settings()
    [(_, read)] = [call for call in calls.made[:first] if call[0] == "BatchGetItem"]
    keys = {
        table: {from_item(key)["pk"] for key in wanted["Keys"]}
        for table, wanted in read["RequestItems"].items()
    }
    assert keys[config.collection_table] == {
        f"EVENT#stripe#{event_id}",
        f"PAY#{payment_id}",
        f"CASE#{case.case_id}",
        f"RECEIPTNO#{case.court_code}#{clock.now().year}",
    }
    assert keys[config.cases_table] == {f"CASE#{case.case_id}"}
    assert "GetItem" not in calls.names()[:first]  # neither the payment nor the case again
    [(_, transaction)] = [call for call in calls.made[:first] if call[0] == "TransactWriteItems"]
    recorded = [
        (from_item(item["Update"]["Key"])["pk"], from_item(values)[":posted"])
        for item in transaction["TransactItems"]
        if "Update" in item
        and item["Update"]["Key"]["pk"]["S"].startswith("EVENT#")
        and (values := item["Update"]["ExpressionAttributeValues"])
    ]
    assert recorded == [(f"EVENT#stripe#{event_id}", "posted")]
    assert calls.names()[first:] == ["BatchGetItem"]  # the duplicate: one read, nothing else
    [message] = outbox_deliveries(outbox)
    assert message.address == case.creditors[0].phone
    assert collection.store.pending_notices() == []
    assert collection.store.event_state("stripe", event_id) == "processed"
    assert ledger_service().balance(case.account_number).posted == 2_000


def test_an_intent_naming_another_case_is_held_for_review_and_moves_nothing(
    api: Any, clock: FixedClock, collection: CollectionService, localstripe: str
) -> None:
    ours = open_case(serial=1234, amount=10_000)
    other = open_case(serial=1235, amount=10_000)
    payment_id, reference = started(collection, ours.account_number, 1_500)
    rail_client(localstripe).v1.payment_intents.update(
        reference, params={"metadata": {"case_id": other.case_id}}
    )
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")

    assert deliver(api, clock, body)["outcome"] == "review"

    [held] = collection.review_queue(limit=10)
    assert held.reference == reference
    assert other.case_id in held.why
    assert ledger_service().balance(ours.account_number).posted == 0
    assert ledger_service().balance(other.account_number).posted == 0
    assert collection.store.standing(other.case_id).paid == 0
    assert collection.payment(payment_id).status != PaymentStatus.SUCCEEDED
