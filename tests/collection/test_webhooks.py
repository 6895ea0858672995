"""The Stripe webhook: verified over the raw body, recorded before acting, safe under
duplicates, retries and any order; unknown payments and other currencies are kept for people."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService, PaymentStatus
from chalicelib.collection.models import StartPayment
from chalicelib.dynamo import to_item
from chalicelib.ledger import SystemAccount
from chalicelib.wiring import ledger_service
from tests.collection.conftest import (
    DECLINED,
    card_token,
    foreign_intent,
    open_case,
    pay_at_rail,
    rail_client,
    rail_event,
    sign,
    synthetic_event,
)

UNIDENTIFIED = SystemAccount.UNIDENTIFIED_FUNDS.of("CNY")
CLEARING = SystemAccount.PAYMENT_CLEARING.of("CNY")


def deliver(api: Any, body: bytes, headers: dict[str, str]) -> Any:
    return api.post("/webhooks/stripe", headers=headers, body=body)


def signed_now(clock: FixedClock, body: bytes) -> dict[str, str]:
    return sign(body, int(clock.now().timestamp()))


def started(collection: CollectionService, account: str, amount: int) -> tuple[str, str]:
    step = collection.start_payment(account, StartPayment(amount=amount), idempotency_key=None)
    assert step.payment.rail_reference is not None
    return step.payment.payment_id, step.payment.rail_reference


@pytest.fixture
def paid_at_rail(collection: CollectionService, localstripe: str) -> dict[str, Any]:
    """A case with a payment of 30.00 that succeeded at the rail; the app was not told."""
    case = open_case(amount=10_000)
    payment_id, reference = started(collection, case.account_number, 3_000)
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")
    return {
        "case": case,
        "payment_id": payment_id,
        "reference": reference,
        "body": body,
        "collection": collection,
    }


def test_succeeded_webhook_posts_one_collection_transfer(
    api: Any, clock: FixedClock, collection: CollectionService, paid_at_rail: dict[str, Any]
) -> None:
    answer = deliver(api, paid_at_rail["body"], signed_now(clock, paid_at_rail["body"]))

    assert answer.status_code == 200
    assert json.loads(answer.body)["outcome"] == "posted"
    account = paid_at_rail["case"].account_number
    assert ledger_service().balance(account).posted == 3_000
    transfer = ledger_service().get_transfer(f"rail:stripe:{paid_at_rail['reference']}")
    assert transfer.metadata["rail_reference"] == paid_at_rail["reference"]
    payment = collection.payment(paid_at_rail["payment_id"])
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.receipt_number is not None


def test_duplicate_webhook_posts_nothing(
    api: Any, clock: FixedClock, paid_at_rail: dict[str, Any]
) -> None:
    body = paid_at_rail["body"]
    assert json.loads(deliver(api, body, signed_now(clock, body)).body)["outcome"] == "posted"
    clock.advance(timedelta(seconds=40))
    again = deliver(api, body, signed_now(clock, body))

    assert again.status_code == 200
    assert json.loads(again.body)["outcome"] == "duplicate"
    assert ledger_service().balance(paid_at_rail["case"].account_number).posted == 3_000


def test_same_payment_in_two_events_posts_once(
    api: Any, clock: FixedClock, paid_at_rail: dict[str, Any]
) -> None:
    """Stripe may describe one payment in several events; the payment, not the event, counts."""
    event = json.loads(paid_at_rail["body"])
    first = paid_at_rail["body"]
    second = json.dumps(event | {"id": event["id"] + "x"}).encode()
    deliver(api, first, signed_now(clock, first))
    answer = deliver(api, second, signed_now(clock, second))

    assert json.loads(answer.body)["outcome"] == "already_posted"
    assert ledger_service().balance(paid_at_rail["case"].account_number).posted == 3_000


def test_late_failure_or_processing_event_never_undoes_a_payment(
    api: Any, clock: FixedClock, collection: CollectionService, paid_at_rail: dict[str, Any]
) -> None:
    succeeded = json.loads(paid_at_rail["body"])
    intent = succeeded["data"]["object"]
    created = int(clock.now().timestamp())
    processing = synthetic_event(
        "evt_processing_1", "payment_intent.processing", intent | {"status": "processing"}, created
    )
    failed = synthetic_event(
        "evt_failed_1",
        "payment_intent.payment_failed",
        intent
        | {
            "status": "requires_payment_method",
            "last_payment_error": {"message": "Your card was declined."},
        },
        created,
    )
    deliver(api, paid_at_rail["body"], signed_now(clock, paid_at_rail["body"]))
    for body in (failed, processing):
        answer = deliver(api, body, signed_now(clock, body))
        assert answer.status_code == 200
        # the rail, asked again, says succeeded: the payment stays paid and posts nothing more
        assert json.loads(answer.body)["outcome"] == "already_posted"

    assert collection.payment(paid_at_rail["payment_id"]).status == PaymentStatus.SUCCEEDED
    assert ledger_service().balance(paid_at_rail["case"].account_number).posted == 3_000


def test_a_stale_processing_event_follows_what_the_rail_says_and_posts_once(
    api: Any, clock: FixedClock, collection: CollectionService, paid_at_rail: dict[str, Any]
) -> None:
    """The event is a notice: a 'processing' event for a payment the rail already holds as
    succeeded settles it, and the succeeded event that follows posts nothing more."""
    intent = json.loads(paid_at_rail["body"])["data"]["object"]
    processing = synthetic_event(
        "evt_processing_2",
        "payment_intent.processing",
        intent | {"status": "processing"},
        int(clock.now().timestamp()),
    )
    answer = deliver(api, processing, signed_now(clock, processing))
    assert json.loads(answer.body)["outcome"] == "posted"

    again = deliver(api, paid_at_rail["body"], signed_now(clock, paid_at_rail["body"]))
    assert json.loads(again.body)["outcome"] == "already_posted"
    assert collection.payment(paid_at_rail["payment_id"]).status == PaymentStatus.SUCCEEDED
    assert ledger_service().balance(paid_at_rail["case"].account_number).posted == 3_000


@pytest.mark.parametrize(
    ("shift", "why"),
    [(timedelta(minutes=-6), "too old"), (timedelta(minutes=2), "in the future")],
    ids=["replayed-old-timestamp", "future-timestamp"],
)
def test_webhook_outside_the_time_window_is_refused(
    api: Any, clock: FixedClock, paid_at_rail: dict[str, Any], shift: timedelta, why: str
) -> None:
    collection = paid_at_rail["collection"]
    body = paid_at_rail["body"]
    answer = deliver(api, body, sign(body, int((clock.now() + shift).timestamp())))

    assert answer.status_code == 400
    problem = json.loads(answer.body)
    assert problem["type"].endswith("collection/webhook-rejected")
    assert why in problem["detail"]
    assert collection.store.event_state("stripe", json.loads(body)["id"]) is None
    assert ledger_service().balance(paid_at_rail["case"].account_number).posted == 0


def test_webhook_with_a_wrong_signature_is_refused(
    api: Any, clock: FixedClock, collection: CollectionService, paid_at_rail: dict[str, Any]
) -> None:
    body = paid_at_rail["body"]
    forged = sign(body, int(clock.now().timestamp()), secret="whsec_someone_else")
    answer = deliver(api, body, forged)

    assert answer.status_code == 400
    assert "does not match" in json.loads(answer.body)["detail"]
    assert collection.store.event_state("stripe", json.loads(body)["id"]) is None


def test_webhook_body_altered_after_signing_is_refused(
    api: Any, clock: FixedClock, paid_at_rail: dict[str, Any]
) -> None:
    body = paid_at_rail["body"]
    headers = signed_now(clock, body)
    altered = body.replace(b'"amount": 3000', b'"amount": 300000')
    assert altered != body
    answer = deliver(api, altered, headers)

    assert answer.status_code == 400
    assert ledger_service().balance(paid_at_rail["case"].account_number).posted == 0


def test_webhook_without_a_signature_is_refused(api: Any, paid_at_rail: dict[str, Any]) -> None:
    answer = deliver(api, paid_at_rail["body"], {"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "missing" in json.loads(answer.body)["detail"]


def test_event_recorded_but_never_finished_is_acted_on_when_retried(
    api: Any, clock: FixedClock, collection: CollectionService, paid_at_rail: dict[str, Any]
) -> None:
    """An event left recorded as received (code that recorded an event before acting, then
    crashed) must not lose the payment: Stripe retries and the retry does the work, once."""
    event_id = json.loads(paid_at_rail["body"])["id"]
    collection.store._db.put_item(
        TableName=collection.store._table,
        Item=to_item({"pk": f"EVENT#stripe#{event_id}", "sk": "EVENT", "state": "received"}),
    )
    answer = deliver(api, paid_at_rail["body"], signed_now(clock, paid_at_rail["body"]))

    assert json.loads(answer.body)["outcome"] == "posted"
    assert collection.store.event_state("stripe", event_id) == "processed"


def test_failed_payment_posts_nothing(
    api: Any, clock: FixedClock, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment_id, reference = started(collection, case.account_number, 2_500)
    declined = api.post(
        f"/collection/payments/{payment_id}/card",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"card_token": card_token(localstripe, DECLINED)}),
    )
    assert declined.status_code == 409
    assert json.loads(declined.body)["type"].endswith("collection/payment-declined")

    body = rail_event(localstripe, reference, "payment_intent.payment_failed")
    answer = deliver(api, body, signed_now(clock, body))

    assert json.loads(answer.body)["outcome"] == "followed"
    assert json.loads(answer.body)["status"] == "failed"
    assert collection.payment(payment_id).status == PaymentStatus.FAILED
    assert ledger_service().balance(case.account_number).posted == 0


def test_payment_unknown_to_us_goes_to_unidentified_funds(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    reference = foreign_intent(localstripe, 1_800, case_account="9999999999999999")
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")
    answer = deliver(api, body, signed_now(clock, body))

    assert json.loads(answer.body)["outcome"] == "unidentified"
    assert ledger_service().balance(UNIDENTIFIED).posted == 1_800
    assert ledger_service().get_transfer(f"rail:stripe:{reference}").amount == 1_800
    queue = api.get("/collection/unidentified", headers=token("finance"))
    [item] = json.loads(queue.body)["items"]
    assert (item["reference"], item["amount"], item["status"]) == (reference, 1_800, "open")
    assert item["stated_account_number"] == "9999999999999999"


def test_payment_in_another_currency_is_held_for_review_and_not_posted(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    reference = foreign_intent(
        localstripe,
        500,
        currency="usd",
        payment_id="pay_elsewhere",
        case_account=case.account_number,
    )
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")
    answer = deliver(api, body, signed_now(clock, body))

    assert json.loads(answer.body)["outcome"] == "review"
    [item] = json.loads(api.get("/collection/reviews", headers=token("finance")).body)["items"]
    assert (item["reference"], item["currency"], item["amount"]) == (reference, "USD", 500)
    assert ledger_service().balance(CLEARING).posted == 0
    assert ledger_service().balance(case.account_number).posted == 0


def test_event_collection_does_not_act_on_is_acknowledged(
    api: Any, clock: FixedClock, collection: CollectionService
) -> None:
    body = json.dumps(
        {
            "id": "evt_customer_1",
            "type": "customer.created",
            "created": int(clock.now().timestamp()),
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    ).encode()
    answer = deliver(api, body, signed_now(clock, body))
    assert json.loads(answer.body)["outcome"] == "ignored"


def test_status_event_of_another_payment_intent_does_not_move_our_payment(
    api: Any,
    clock: FixedClock,
    collection: CollectionService,
    localstripe: str,
    paid_at_rail: dict[str, Any],
) -> None:
    """Only the PaymentIntent our payment holds may move it: an event for another one that
    carries the same payment id (a second intent made for it) must not show the payer
    "failed" while the real payment goes through."""
    case = paid_at_rail["case"]
    payment_id = paid_at_rail["payment_id"]
    another = foreign_intent(
        localstripe, 3_000, payment_id=payment_id, case_account=case.account_number
    )
    canceled = rail_client(localstripe).v1.payment_intents.cancel(another).to_dict()
    body = synthetic_event(
        "evt_other_canceled", "payment_intent.canceled", canceled, int(clock.now().timestamp())
    )
    answer = deliver(api, body, signed_now(clock, body))

    assert answer.status_code == 200
    assert json.loads(answer.body)["outcome"] == "other_reference"
    assert collection.payment(paid_at_rail["payment_id"]).status == PaymentStatus.AWAITING_METHOD
