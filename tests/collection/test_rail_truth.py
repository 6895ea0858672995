"""The rail is the truth, an event only a notice: whatever a signed event says, money is posted
as the rail holds the PaymentIntent, checked against our payment, and one PaymentIntent posts at
most once, under its own reference, whichever way it is routed."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService, PaymentStatus
from chalicelib.ledger import SystemAccount
from chalicelib.wiring import ledger_service
from tests.collection.conftest import (
    open_case,
    pay_at_rail,
    rail_client,
    rail_event,
    synthetic_event,
)
from tests.collection.test_webhooks import deliver, signed_now, started

UNIDENTIFIED = SystemAccount.UNIDENTIFIED_FUNDS.of("CNY")
CLEARING = SystemAccount.PAYMENT_CLEARING.of("CNY")


def forged(clock: FixedClock, genuine: bytes, event_id: str, **changes: Any) -> bytes:
    """A correctly signed event (the secret leaked, or an insider) whose PaymentIntent says
    something else than the rail holds."""
    intent = json.loads(genuine)["data"]["object"] | changes
    return synthetic_event(
        event_id, "payment_intent.succeeded", intent, int(clock.now().timestamp())
    )


def test_a_signed_event_claiming_more_posts_only_what_the_rail_received(
    api: Any, clock: FixedClock, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=5_000_000)
    payment_id, reference = started(collection, case.account_number, 10_000)
    pay_at_rail(localstripe, reference)
    genuine = rail_event(localstripe, reference, "payment_intent.succeeded")
    lie = forged(clock, genuine, "evt_forged_amount", amount=1_000_000, amount_received=1_000_000)

    first = deliver(api, lie, signed_now(clock, lie))
    assert json.loads(first.body)["outcome"] == "posted"
    then = deliver(api, genuine, signed_now(clock, genuine))
    assert json.loads(then.body)["outcome"] == "already_posted"

    ledger = ledger_service()
    assert ledger.balance(case.account_number).posted == 10_000
    assert ledger.balance(CLEARING).posted == -10_000
    payment = collection.payment(payment_id)
    assert (payment.status, payment.amount_received) == (PaymentStatus.SUCCEEDED, 10_000)
    assert collection.store.standing(case.case_id).paid == 10_000


def test_an_event_naming_another_cases_payment_posts_the_intent_once_to_its_own_case(
    api: Any, clock: FixedClock, collection: CollectionService, localstripe: str
) -> None:
    case_a = open_case(serial=7001, amount=100_000)
    case_b = open_case(serial=7002, amount=100_000)
    payment_a, reference_a = started(collection, case_a.account_number, 25_000)
    payment_b, _ = started(collection, case_b.account_number, 25_000)
    pay_at_rail(localstripe, reference_a)
    genuine = rail_event(localstripe, reference_a, "payment_intent.succeeded")
    metadata = {"payment_id": payment_b, "case_account": case_b.account_number}
    lie = forged(clock, genuine, "evt_forged_metadata", metadata=metadata)

    deliver(api, lie, signed_now(clock, lie))
    deliver(api, genuine, signed_now(clock, genuine))
    collection.refresh(payment_a)

    ledger = ledger_service()
    assert ledger.balance(case_a.account_number).posted == 25_000
    assert ledger.balance(case_b.account_number).posted == 0
    assert ledger.balance(UNIDENTIFIED).posted == 0
    assert ledger.balance(CLEARING).posted == -25_000
    assert collection.payment(payment_b).status != PaymentStatus.SUCCEEDED


def test_an_intent_routed_to_unidentified_funds_never_posts_again_to_a_case(
    api: Any, clock: FixedClock, collection: CollectionService, localstripe: str
) -> None:
    """Someone with access to the rail's dashboard points the intent's metadata at another
    payment: it goes to unidentified funds. Pointed back, the sweeper and the payer's page
    find it already posted under its reference: received once, claimed from the queue."""
    case_a = open_case(serial=7101, amount=100_000)
    case_b = open_case(serial=7102, amount=100_000)
    payment_a, reference_a = started(collection, case_a.account_number, 25_000)
    payment_b, _ = started(collection, case_b.account_number, 25_000)
    stripe = rail_client(localstripe)
    stripe.v1.payment_intents.update(reference_a, params={"metadata": {"payment_id": payment_b}})
    pay_at_rail(localstripe, reference_a)
    body = rail_event(localstripe, reference_a, "payment_intent.succeeded")
    assert json.loads(deliver(api, body, signed_now(clock, body)).body)["outcome"] == "unidentified"

    stripe.v1.payment_intents.update(reference_a, params={"metadata": {"payment_id": payment_a}})
    # what the sweeper does for each succeeded payment, and the payer's receipt page
    assert collection.settle(collection.rail.retrieve(reference_a)).outcome == "already_posted"
    collection.refresh(payment_a)

    ledger = ledger_service()
    assert ledger.get_transfer(f"rail:stripe:{reference_a}").amount == 25_000
    assert ledger.balance(UNIDENTIFIED).posted == 25_000
    assert ledger.balance(case_a.account_number).posted == 0
    assert ledger.balance(CLEARING).posted == -25_000
    assert collection.store.standing(case_a.case_id).paid == 0


def test_a_rail_amount_that_differs_from_our_payment_never_reaches_the_ledger(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    # localstripe keeps an amount changed by an update as text ("90000"), which the strict
    # event reader refuses as misshapen: the event is kept for review as malformed. Either
    # way, money the rail reports differently from our payment never reaches the ledger.
    case = open_case(amount=100_000)
    payment_id, reference = started(collection, case.account_number, 3_000)
    rail_client(localstripe).v1.payment_intents.update(reference, params={"amount": 90_000})
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")

    answer = deliver(api, body, signed_now(clock, body))
    assert answer.status_code == 200
    assert json.loads(answer.body)["outcome"] == "malformed"
    [item] = json.loads(api.get("/collection/reviews/events", headers=token("finance")).body)[
        "items"
    ]
    assert "amount" in item["why"]
    assert ledger_service().balance(case.account_number).posted == 0
    assert ledger_service().balance(CLEARING).posted == 0
    assert collection.payment(payment_id).status != PaymentStatus.SUCCEEDED
    assert collection.store.standing(case.case_id).paid == 0


def test_an_event_for_an_intent_the_rail_does_not_know_moves_nothing(
    api: Any, clock: FixedClock, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=100_000)
    _, reference = started(collection, case.account_number, 3_000)
    pay_at_rail(localstripe, reference)
    genuine = rail_event(localstripe, reference, "payment_intent.succeeded")
    lie = forged(clock, genuine, "evt_invented", id="pi_invented_by_a_forger")

    answer = deliver(api, lie, signed_now(clock, lie))
    assert (answer.status_code, json.loads(answer.body)["outcome"]) == (200, "unknown_payment")
    assert ledger_service().balance(CLEARING).posted == 0
