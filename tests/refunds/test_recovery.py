"""Crash-safe refunds: a crash between any two steps is finished by the sweeper, the rail's
final answer posts or voids exactly once, and a failed refund is reissued as a new attempt."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from chalicelib import wiring
from chalicelib.approvals import Decision
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.collection.stripe_rail import StripeRail, StripeSettings
from chalicelib.refunds import RefundService, RefundState
from chalicelib.refunds.models import RequestRefund
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case, rail_client, sign
from tests.refunds.conftest import CHIEF, CLERK, FINANCE, paid_online

REFUND_SECRET = "whsec_refund_endpoint"


def approved(refunds: RefundService, payment_id: str, amount: int) -> str:
    refund = refunds.request(
        RequestRefund.model_validate(
            {
                "source_kind": "online",
                "source_reference": payment_id,
                "amount": amount,
                "reason_code": "duplicate_payment",
            }
        ),
        by=CLERK,
    )
    refunds.submit(refund.refund_id, by=CLERK)
    refunds.decide(refund.refund_id, Decision.APPROVE, by=CHIEF, text=None)
    refunds.decide(refund.refund_id, Decision.APPROVE, by=FINANCE, text=None)
    return refund.refund_id


def rail_refunds(localstripe: str, intent: str | None) -> list[Any]:
    return list(rail_client(localstripe).v1.refunds.list(params={"payment_intent": intent}).data)


def test_a_crash_after_the_rail_call_and_before_the_ledger_is_finished_by_the_sweeper(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 10_000)
    ledger = refunds.payback._ledger
    post = ledger.post_pending
    crashes: list[str] = []

    def crash_once(*args: Any, **kwargs: Any) -> Any:
        if not crashes:
            crashes.append("crashed")
            raise RuntimeError("the Lambda died here")
        return post(*args, **kwargs)

    monkeypatch.setattr(ledger, "post_pending", crash_once)
    refund_id = approved(refunds, payment.payment_id, 3_000)
    stopped = refunds.get(refund_id)
    assert crashes == ["crashed"]
    assert stopped.state == RefundState.PROCESSING
    assert stopped.attempts[-1].rail_key == f"refund-{refund_id}-1"
    assert len(rail_refunds(localstripe, payment.rail_reference)) == 1
    assert ledger_service().balance(case.account_number).debits_pending == 3_000

    report = refunds.payback.sweep()
    assert report["finished"] == 1
    done = refunds.get(refund_id)
    assert done.state == RefundState.PAID
    assert len(rail_refunds(localstripe, payment.rail_reference)) == 1  # never paid twice
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (7_000, 0)
    assert refunds.payback.sweep()["finished"] == 0
    assert refunds.get(refund_id) == done


def test_a_crash_after_the_ledger_posted_and_before_the_refund_was_marked_paid(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 10_000)
    commit = refunds.store.commit
    crashes: list[str] = []

    def crash_on_paid(writes: Any) -> None:
        stored = writes[0].item.get("Put", {}).get("Item", {})
        if not crashes and stored.get("state") == {"S": "paid"}:
            crashes.append("crashed")
            raise RuntimeError("the Lambda died here")
        commit(writes)

    monkeypatch.setattr(refunds.store, "commit", crash_on_paid)
    refund_id = approved(refunds, payment.payment_id, 2_500)
    assert crashes == ["crashed"]
    assert refunds.get(refund_id).state == RefundState.PROCESSING
    assert ledger_service().balance(case.account_number).posted == 7_500  # posted already

    refunds.payback.sweep()
    assert refunds.get(refund_id).state == RefundState.PAID
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (7_500, 0)  # posted once
    assert len(rail_refunds(localstripe, payment.rail_reference)) == 1


class CannedStripe(stripe.HTTPClient):
    """Stripe at the SDK's HTTP boundary, for what localstripe never does: a refund that stays
    pending and then fails. Answers by path; keeps every request."""

    name = "canned"

    def __init__(self) -> None:
        super().__init__()
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.next_status = "pending"

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        from urllib.parse import parse_qs, urlsplit

        path = urlsplit(url).path
        self.requests.append((method, path, dict(headers or {})))
        if method == "get" and path == "/v1/refunds":
            return (
                json.dumps(
                    {
                        "object": "list",
                        "data": list(self.refunds.values()),
                        "has_more": False,
                        "url": "/v1/refunds",
                    }
                ),
                200,
                {},
            )
        if method == "post" and path == "/v1/refunds":
            form = {
                k: v[0]
                for k, v in parse_qs(
                    post_data.decode() if isinstance(post_data, bytes) else post_data
                ).items()
            }
            number = len(self.refunds) + 1
            refund = {
                "id": f"re_canned_{number}",
                "object": "refund",
                "amount": int(form["amount"]),
                "currency": "cny",
                "payment_intent": form["payment_intent"],
                "status": self.next_status,
                "metadata": {"refund_key": form["metadata[refund_key]"]},
            }
            self.refunds[refund["id"]] = refund
            return json.dumps(refund), 200, {}
        if method == "get" and path.startswith("/v1/refunds/"):
            return json.dumps(self.refunds[path.rsplit("/", 1)[1]]), 200, {}
        return json.dumps({"error": {"message": "not here"}}), 404, {}

    def close(self) -> None:
        return None


def event(refund: dict[str, Any], event_id: str, created: int) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": f"refund.{'failed' if refund['status'] == 'failed' else 'updated'}",
            "created": created,
            "data": {"object": refund},
        }
    ).encode()


def test_a_refund_event_is_read_back_fails_the_refund_once_and_a_reissue_pays_it(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 10_000)
    canned = CannedStripe()
    wiring.override(
        payment_rail=StripeRail(
            StripeSettings(
                secret_key="sk_test_canned",
                publishable_key="pk_test_canned",
                webhook_secrets=(REFUND_SECRET,),
            ),
            clock=clock,
            http_client=canned,
        )
    )
    refund_id = approved(refunds, payment.payment_id, 4_000)
    sent = refunds.get(refund_id)
    assert sent.state == RefundState.PROCESSING
    assert sent.attempts[-1].rail_reference == "re_canned_1"
    created = [r for r in canned.requests if r[0] == "post"]
    assert created[0][2]["Idempotency-Key"] == f"refund-{refund_id}-1"

    # the rail fails the refund; the event says so, and the refund read back confirms it
    canned.refunds["re_canned_1"]["status"] = "failed"
    canned.refunds["re_canned_1"]["failure_reason"] = "expired_or_canceled_card"
    now = int(clock.now().timestamp())
    body = event(canned.refunds["re_canned_1"], "evt_r1", now)
    answer = refunds.payback.ingest_webhook(body, sign(body, now, REFUND_SECRET))
    assert answer == {"event": "evt_r1", "outcome": "failed"}
    failed = refunds.get(refund_id)
    assert failed.state == RefundState.FAILED
    assert "expired_or_canceled_card" in (failed.failure or "")
    assert refunds.store.held(failed.source) == 0
    assert ledger_service().balance(case.account_number).debits_pending == 0
    assert refunds.payback.ingest_webhook(body, sign(body, now, REFUND_SECRET))["outcome"] == (
        "duplicate"
    )
    # a forged event is refused before anything is read
    with pytest.raises(Exception, match="signature"):
        refunds.payback.ingest_webhook(body, sign(body, now, "whsec_forger"))

    canned.next_status = "succeeded"
    reissued = refunds.reissue(refund_id, by=FINANCE)
    assert reissued.state == RefundState.PAID
    assert [a.number for a in reissued.attempts] == [1, 2]
    assert reissued.attempts[0].failure is not None
    assert reissued.attempts[1].rail_reference == "re_canned_2"
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (6_000, 0)
    # a late event about the first attempt changes nothing
    late = event(canned.refunds["re_canned_1"], "evt_r0", now)
    assert refunds.payback.ingest_webhook(late, sign(late, now, REFUND_SECRET))["outcome"] == (
        "unchanged"
    )
    assert refunds.get(refund_id) == reissued


def test_a_retry_after_the_rail_forgot_its_key_finds_the_refund_made_by_its_metadata(
    clock: FixedClock,
) -> None:
    canned = CannedStripe()
    rail = StripeRail(
        StripeSettings(secret_key="sk_x", publishable_key="pk_x", webhook_secrets=("whsec",)),
        clock=clock,
        http_client=canned,
    )
    first = rail.refund("pi_1", key="refund-rf-1-1", amount=500, currency="CNY")
    again = rail.refund("pi_1", key="refund-rf-1-1", amount=500, currency="CNY")
    assert again == first
    assert [r[:2] for r in canned.requests] == [
        ("get", "/v1/refunds"),
        ("post", "/v1/refunds"),
        ("get", "/v1/refunds"),
    ]


@pytest.mark.parametrize("final", ["succeeded", "failed"])
@pytest.mark.parametrize("first", ["webhook", "sweeper"])
def test_the_rails_final_answer_acts_once_whether_the_webhook_or_the_sweeper_brings_it(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
    *,
    first: str,
    final: str,
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 10_000)
    canned = CannedStripe()
    wiring.override(
        payment_rail=StripeRail(
            StripeSettings(
                secret_key="sk_test_canned",
                publishable_key="pk_test_canned",
                webhook_secrets=(REFUND_SECRET,),
            ),
            clock=clock,
            http_client=canned,
        )
    )
    refund_id = approved(refunds, payment.payment_id, 4_000)
    assert refunds.get(refund_id).state == RefundState.PROCESSING  # pending at the rail
    canned.refunds["re_canned_1"]["status"] = final
    now = int(clock.now().timestamp())

    def webhook(event_id: str) -> str:
        body = event(canned.refunds["re_canned_1"], event_id, now)
        return refunds.payback.ingest_webhook(body, sign(body, now, REFUND_SECRET))["outcome"]

    ending = RefundState.PAID if final == "succeeded" else RefundState.FAILED
    if first == "webhook":
        assert webhook("evt_first") == ending.value
        assert refunds.payback.sweep()["finished"] == 0
    else:
        assert refunds.payback.sweep()["finished"] == 1
        assert webhook("evt_first") == "unchanged"
    assert webhook("evt_again") == "unchanged"  # another event about the same answer
    assert refunds.payback.sweep()["finished"] == 0

    done = refunds.get(refund_id)
    assert done.state == ending
    assert [e.state for e in done.history].count(ending) == 1
    balance = ledger_service().balance(case.account_number)
    left = 6_000 if final == "succeeded" else 10_000
    assert (balance.posted, balance.debits_pending) == (left, 0)
    reservation = ledger_service().get_transfer(done.attempts[-1].reservation_id)
    assert reservation.state is not None
    assert reservation.state.value == ("posted" if final == "succeeded" else "voided")
    assert refunds.store.held(done.source) == (4_000 if final == "succeeded" else 0)
    assert len([r for r in canned.requests if r[0] == "post"]) == 1  # asked the rail once


def _counter_cash_approved_unreserved(
    refunds: RefundService, monkeypatch: pytest.MonkeyPatch, amount: int
) -> str:
    """Approved, and the function died before it reserved the money."""
    refund = refunds.request(
        RequestRefund.model_validate(
            {
                "source_kind": "counter_cash",
                "source_reference": "cash-1",
                "amount": amount,
                "reason_code": "paid_by_mistake",
            }
        ),
        by=CLERK,
    )
    refunds.submit(refund.refund_id, by=CLERK)
    refunds.decide(refund.refund_id, Decision.APPROVE, by=CHIEF, text=None)

    def died(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the function timed out")

    with monkeypatch.context() as dying:
        dying.setattr(refunds.payback, "start", died)
        with pytest.raises(ConnectionError):
            refunds.decide(refund.refund_id, Decision.APPROVE, by=FINANCE, text=None)
    return refund.refund_id


@pytest.mark.parametrize("stale_step", ["finishes", "dies after reserving"])
def test_a_start_that_read_the_refund_before_its_cancellation_leaves_nothing_reserved(
    *,
    refunds: RefundService,
    collection: CollectionService,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    stale_step: str,
) -> None:
    """The sweeper read the counter-cash refund approved; it is cancelled (its void finds no
    reservation yet) and a sweep runs; then the stale start reserves the money. The money is
    released: by the start itself, or by a later sweep when the start died right after."""
    from tests.refunds.conftest import counter_cash

    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 4_000)
    refund_id = _counter_cash_approved_unreserved(refunds, monkeypatch, 4_000)
    stale = refunds.get(refund_id)
    assert stale.state == RefundState.APPROVED
    assert ledger_service().balance(case.account_number).debits_pending == 0
    refunds.cancel(refund_id, by=FINANCE, reason="当事人撤回")
    swept = refunds.payback.sweep()
    assert (swept["voided"], swept["void_waiting"]) == (0, 1)

    if stale_step == "finishes":
        after = refunds.payback.start(stale)
        assert after.state == RefundState.CANCELLED
    else:
        refunds.payback.reserve(stale)
        assert ledger_service().balance(case.account_number).debits_pending == 4_000
        assert refunds.payback.sweep()["voided"] == 1
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (4_000, 0)
    assert refunds.store.voids_due(limit=10) == []


def test_a_cancellation_with_nothing_reserved_leaves_the_void_queue_once_no_step_can_reserve(
    refunds: RefundService,
    collection: CollectionService,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from tests.refunds.conftest import counter_cash

    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 4_000)
    refund_id = _counter_cash_approved_unreserved(refunds, monkeypatch, 4_000)
    refunds.cancel(refund_id, by=FINANCE, reason="当事人撤回")
    assert refunds.payback.sweep()["void_waiting"] == 1
    assert [r.refund_id for r in refunds.store.voids_due(limit=10)] == [refund_id]
    clock.advance(timedelta(minutes=16))  # past the longest a function runs
    assert refunds.payback.sweep()["voided"] == 1
    assert refunds.store.voids_due(limit=10) == []
    assert ledger_service().balance(case.account_number).debits_pending == 0
