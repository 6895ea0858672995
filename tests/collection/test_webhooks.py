"""The Stripe webhook: verified over the raw body, recorded before acting, safe under
duplicates, retries and any order; unknown payments and other currencies are kept for people."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.collection import ClaimAlreadySettled, CollectionService, PaymentStatus
from chalicelib.collection.models import StartPayment
from chalicelib.ledger import SystemAccount, TransferCode
from chalicelib.wiring import ledger_service
from tests.collection.conftest import (
    DECLINED,
    card_token,
    foreign_intent,
    open_case,
    pay_at_rail,
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
    transfer = ledger_service().get_transfer(f"collection:{paid_at_rail['payment_id']}")
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
        assert json.loads(answer.body)["outcome"] == "status:succeeded"

    assert collection.payment(paid_at_rail["payment_id"]).status == PaymentStatus.SUCCEEDED
    assert ledger_service().balance(paid_at_rail["case"].account_number).posted == 3_000


def test_success_after_processing_posts_once(
    api: Any, clock: FixedClock, collection: CollectionService, paid_at_rail: dict[str, Any]
) -> None:
    intent = json.loads(paid_at_rail["body"])["data"]["object"]
    processing = synthetic_event(
        "evt_processing_2",
        "payment_intent.processing",
        intent | {"status": "processing"},
        int(clock.now().timestamp()),
    )
    answer = deliver(api, processing, signed_now(clock, processing))
    assert json.loads(answer.body)["outcome"] == "status:processing"
    assert collection.payment(paid_at_rail["payment_id"]).status.display == "processing"

    deliver(api, paid_at_rail["body"], signed_now(clock, paid_at_rail["body"]))
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
    """A crash after the event id was recorded must not lose the payment: Stripe retries and
    the retry does the work."""
    event_id = json.loads(paid_at_rail["body"])["id"]
    assert collection.store.record_event("stripe", event_id, "payment_intent.succeeded", "t")
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

    assert json.loads(answer.body)["outcome"] == "status:failed"
    assert collection.payment(payment_id).status == PaymentStatus.FAILED
    assert ledger_service().balance(case.account_number).posted == 0


def test_payment_unknown_to_us_goes_to_unidentified_funds_and_is_claimed(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    reference = foreign_intent(localstripe, 1_800, case_account="9999999999999999")
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")
    answer = deliver(api, body, signed_now(clock, body))

    assert json.loads(answer.body)["outcome"] == "unidentified"
    assert ledger_service().balance(UNIDENTIFIED).posted == 1_800
    queue = api.get("/collection/unidentified", headers=token("finance"))
    [item] = json.loads(queue.body)["items"]
    assert (item["reference"], item["amount"], item["status"]) == (reference, 1_800, "open")
    assert item["stated_account_number"] == "9999999999999999"

    claim = {"account_number": case.account_number, "reason": "付款人来电确认为本案执行款"}
    claimed = api.post(
        f"/collection/unidentified/{reference}/claim",
        headers=token("finance", subject="fin-7"),
        body=json.dumps(claim),
    )
    assert claimed.status_code == 200, claimed.body
    record = json.loads(claimed.body)
    assert record["status"] == "claimed"
    assert record["claimed_by"] == "fin-7"
    assert record["claim_reason"] == claim["reason"]
    assert ledger_service().balance(UNIDENTIFIED).posted == 0
    assert ledger_service().balance(case.account_number).posted == 1_800
    assert collection.store.standing(case.case_id).paid == 1_800
    transfer = ledger_service().get_transfer(record["claim_transfer_id"])
    assert transfer.id == f"claim:stripe:{reference}"
    assert transfer.code == TransferCode.UNIDENTIFIED_CLAIM
    assert transfer.requested_by == "fin-7"
    assert transfer.metadata == {"reason": claim["reason"], "payment_ref": reference}

    again = api.post(
        f"/collection/unidentified/{reference}/claim",
        headers=token("clerk"),
        body=json.dumps(claim),
    )
    assert again.status_code == 409
    assert json.loads(api.get("/collection/unidentified", headers=token("auditor")).body) == {
        "items": []
    }


@pytest.mark.parametrize(("role", "status"), [("clerk", 200), ("auditor", 403), ("approver", 403)])
def test_clerks_finance_and_admins_claim_and_no_one_else(
    *,
    api: Any,
    clock: FixedClock,
    token: Any,
    collection: CollectionService,
    localstripe: str,
    role: str,
    status: int,
) -> None:
    case = open_case(amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 900)
    claim = {"account_number": case.account_number, "reason": "付款人来电确认"}
    answer = api.post(
        f"/collection/unidentified/{reference}/claim", headers=token(role), body=json.dumps(claim)
    )
    assert answer.status_code == status, answer.body
    claimed = status == 200
    assert ledger_service().balance(case.account_number).posted == (900 if claimed else 0)
    assert collection.store.standing(case.case_id).paid == (900 if claimed else 0)


def test_a_claim_cannot_take_more_unidentified_money_than_is_held(
    api: Any, clock: FixedClock, token: Any, collection: CollectionService, localstripe: str
) -> None:
    """Unidentified funds never go below zero: if the money already left (here a correction
    under four eyes), the claim is refused and nothing is counted."""
    case = open_case(serial=2101, amount=10_000)
    other = open_case(serial=2102, amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 1_500)
    ledger = ledger_service()
    ledger.propose_correction(
        "fix-1",
        debit_account=UNIDENTIFIED,
        credit_account=other.account_number,
        amount=1_000,
        reason="付款人来电，属另案执行款",
        proposed_by="clerk-1",
        subject="clerk-1",
    )
    ledger.post_correction("fix-1", posted_by="finance-1", subject="finance-1")

    claim = {"account_number": case.account_number, "reason": "付款人来电确认"}
    answer = api.post(
        f"/collection/unidentified/{reference}/claim",
        headers=token("finance"),
        body=json.dumps(claim),
    )
    assert answer.status_code == 409, answer.body
    assert json.loads(answer.body)["type"].endswith("ledger/insufficient-funds")
    item = collection.store.unidentified(reference)
    assert item is not None
    assert item.status == "open"
    assert ledger.balance(case.account_number).posted == 0
    assert ledger.balance(UNIDENTIFIED).posted == 500
    assert collection.store.standing(case.case_id).paid == 0


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


def unidentified_at_rail(api: Any, clock: FixedClock, localstripe: str, amount: int) -> str:
    reference = foreign_intent(localstripe, amount)
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")
    assert json.loads(deliver(api, body, signed_now(clock, body)).body)["outcome"] == "unidentified"
    return reference


@pytest.mark.parametrize("retried_to", ["same-case", "other-case"])
def test_claim_that_crashed_after_the_ledger_moved_the_money_is_finished_by_the_next_try(
    *,
    api: Any,
    clock: FixedClock,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
    retried_to: str,
) -> None:
    """The ledger claim is the durable record: a retry by someone else, with other words, or
    naming another case, finishes the claim as it was made instead of being refused forever
    while the queue item stays open and the case never counts the money."""
    case = open_case(serial=2001, amount=10_000)
    other = open_case(serial=2002, amount=10_000)
    reference = unidentified_at_rail(api, clock, localstripe, 2_200)

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("the function timed out")

    monkeypatch.setattr(collection.store, "commit_claim", crash)
    with pytest.raises(ConnectionError):
        collection.claim(
            reference, account_number=case.account_number, reason="付款人来电确认", actor="fin-7"
        )
    monkeypatch.undo()
    assert ledger_service().balance(case.account_number).posted == 2_200
    assert collection.store.standing(case.case_id).paid == 0

    target = case if retried_to == "same-case" else other
    retry = {"account_number": target.account_number, "reason": "重试认领"}
    if retried_to == "same-case":
        claimed = collection.claim(reference, **retry, actor="fin-8")
    else:
        with pytest.raises(ClaimAlreadySettled):
            collection.claim(reference, **retry, actor="fin-8")
        found = collection.store.unidentified(reference)
        assert found is not None
        claimed = found

    assert claimed.status == "claimed"
    assert (claimed.claimed_account_number, claimed.claimed_by) == (case.account_number, "fin-7")
    assert claimed.claim_reason == "付款人来电确认"
    assert collection.store.standing(case.case_id).paid == 2_200
    assert collection.store.standing(other.case_id).paid == 0
    assert ledger_service().balance(case.account_number).posted == 2_200
    assert ledger_service().balance(other.account_number).posted == 0
    assert ledger_service().balance(UNIDENTIFIED).posted == 0


def test_status_event_of_another_payment_intent_does_not_move_our_payment(
    api: Any, clock: FixedClock, collection: CollectionService, paid_at_rail: dict[str, Any]
) -> None:
    """Only the PaymentIntent our payment holds may move it: an event for another one that
    carries the same payment id (a second intent made for it) must not show the payer
    "failed" while the real payment goes through."""
    intent = json.loads(paid_at_rail["body"])["data"]["object"]
    other = intent | {"id": "pi_another_intent", "status": "canceled"}
    body = synthetic_event(
        "evt_other_canceled", "payment_intent.canceled", other, int(clock.now().timestamp())
    )
    answer = deliver(api, body, signed_now(clock, body))

    assert answer.status_code == 200
    assert json.loads(answer.body)["outcome"] == "other_reference"
    assert collection.payment(paid_at_rail["payment_id"]).status == PaymentStatus.AWAITING_METHOD
