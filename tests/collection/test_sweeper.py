"""The sweeper: payments that succeeded at the rail but whose webhook never came are posted,
once; notices left pending are sent; it runs on a schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app import app
from chalicelib import wiring
from chalicelib.cases.models import OpenCase
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.collection.intake import SWEEP_OVERLAP
from chalicelib.collection.models import StartPayment
from chalicelib.ledger import SystemAccount
from chalicelib.notifications import Channel, ChannelNotifier, Notification
from chalicelib.wiring import case_service, ledger_service
from tests.cases.factories import filing
from tests.collection.conftest import foreign_intent, open_case, outbox_deliveries, pay_at_rail


def paid_without_webhook(collection: CollectionService, localstripe: str, amount: int) -> Any:
    case = open_case(amount=10_000)
    step = collection.start_payment(
        case.account_number, StartPayment(amount=amount), idempotency_key=None
    )
    assert step.payment.rail_reference is not None
    pay_at_rail(localstripe, step.payment.rail_reference)
    return case, step.payment.payment_id


@pytest.mark.usefixtures("rail_emptied")
def test_sweeper_posts_a_payment_whose_webhook_never_came_and_a_second_run_posts_nothing(
    collection: CollectionService, localstripe: str
) -> None:
    case, payment_id = paid_without_webhook(collection, localstripe, 4_200)
    assert collection.payment(payment_id).status.display == "unpaid"

    first = collection.sweep()
    second = collection.sweep()

    assert (first.examined, first.posted) == (1, 1)
    assert (second.examined, second.posted, second.unidentified) == (1, 0, 0)
    assert collection.payment(payment_id).status.display == "paid"
    assert ledger_service().balance(case.account_number).posted == 4_200


@pytest.mark.usefixtures("rail_emptied")
def test_sweeper_reads_the_rail_only_from_its_last_complete_run(
    collection: CollectionService, localstripe: str, clock: FixedClock
) -> None:
    paid_without_webhook(collection, localstripe, 1_000)
    assert collection.sweep().posted == 1
    clock.advance(timedelta(hours=1))

    assert collection.sweep().examined == 1  # the overlap still covers the last run
    assert collection.sweep().examined == 0  # an hour on, nothing new to read


@pytest.mark.usefixtures("rail_emptied")
def test_payment_that_fails_to_settle_is_tried_again_by_the_next_run(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case, payment_id = paid_without_webhook(collection, localstripe, 2_000)

    def ledger_down(current: Any) -> Any:
        raise ConnectionError("the ledger did not answer")

    monkeypatch.setattr(collection.settling, "settle", ledger_down)
    failed = collection.sweep()
    monkeypatch.undo()

    assert (failed.examined, failed.failed, failed.posted) == (1, 1, 0)
    assert collection.store.sweep_retries("stripe") == [
        collection.payment(payment_id).rail_reference
    ]
    assert collection.sweep().posted == 1
    assert collection.store.sweep_retries("stripe") == []
    assert ledger_service().balance(case.account_number).posted == 2_000
    assert collection.payment(payment_id).status.display == "paid"


@pytest.mark.usefixtures("rail_emptied")
def test_sweeper_sends_unknown_money_to_unidentified_funds_once(
    collection: CollectionService, localstripe: str
) -> None:
    pay_at_rail(localstripe, foreign_intent(localstripe, 990))

    assert collection.sweep().unidentified == 1
    assert collection.sweep().unidentified == 0
    assert ledger_service().balance(SystemAccount.UNIDENTIFIED_FUNDS.of()).posted == 990


class FailingOnce:
    """A notifier whose gateway is down for the first message."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failed = False

    def notify(self, notification: Notification) -> Any:
        if not self.failed:
            self.failed = True
            raise ConnectionError("SMS gateway unreachable")
        return self.inner.notify(notification)


@pytest.mark.usefixtures("rail_emptied")
def test_notice_that_failed_to_send_is_sent_by_the_sweeper(
    collection: CollectionService, localstripe: str, clock: FixedClock, outbox: Any
) -> None:
    flaky = CollectionService(
        collection.store,
        lambda: collection.rail,
        clock,
        cases=case_service(),
        ledger=ledger_service(),
        notifier=FailingOnce(wiring.notifier()),
    )
    case = open_case(amount=5_000)
    step = flaky.start_payment(
        case.account_number, StartPayment(amount=5_000), idempotency_key=None
    )
    assert step.payment.rail_reference is not None
    pay_at_rail(localstripe, step.payment.rail_reference)
    flaky.refresh(step.payment.payment_id)
    assert outbox_deliveries(outbox) == []
    assert len(collection.store.pending_notices()) == 1

    assert flaky.sweep().notices_sent == 1
    assert [d.kind for d in outbox_deliveries(outbox)] == ["case.paid_in_full"]
    assert collection.store.pending_notices() == []
    assert flaky.sweep().notices_sent == 0


def test_sweeper_runs_on_a_schedule() -> None:
    [schedule] = [s for s in app.event_sources if s.name == "sweep_payments"]
    assert "rate(10 minutes)" in schedule.schedule_expression.to_string()


@pytest.mark.usefixtures("rail_emptied")
def test_sweeper_back_after_an_outage_longer_than_webhook_retries_still_posts(
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stripe stops retrying a webhook after 3 days; if every sweep failed for longer, the next
    good run must still read from its last complete run, or the payment is never posted."""
    assert collection.sweep().examined == 0  # a complete run: the mark is set
    case, payment_id = paid_without_webhook(collection, localstripe, 3_300)

    def ledger_down(current: Any) -> Any:
        raise ConnectionError("the ledger did not answer")

    monkeypatch.setattr(collection.settling, "settle", ledger_down)
    monkeypatch.setattr(collection.store, "add_sweep_retry", ledger_down)  # nothing recorded
    for _ in range(4):
        clock.advance(timedelta(days=1))
        assert collection.sweep().failed == 1
    monkeypatch.undo()
    clock.advance(timedelta(hours=1))

    assert collection.sweep().posted == 1
    assert collection.payment(payment_id).status.display == "paid"
    assert ledger_service().balance(case.account_number).posted == 3_300


class OneNumberDown:
    """An SMS gateway that refuses one phone number until it is repaired."""

    def __init__(self, broken: str) -> None:
        self.broken: str | None = broken
        self.sent: list[str] = []

    def send(self, *, address: str, subject: str, body: str) -> str:
        if address == self.broken:
            raise ConnectionError("the SMS gateway refused the number")
        self.sent.append(address)
        return f"sms-{len(self.sent)}"


@pytest.mark.usefixtures("rail_emptied")
def test_creditor_already_told_is_not_told_again_when_another_creditors_message_is_retried(
    collection: CollectionService, localstripe: str, clock: FixedClock
) -> None:
    """Two creditors; the second's number fails. The sweeper retries every 10 minutes, and the
    first creditor must get one message, not one per run."""
    creditor = filing(3001)["parties"][0]
    second = creditor | {
        "name": "李四",
        "phone": "13700001111",
        "receiving_account": creditor["receiving_account"] | {"account_name": "李四"},
    }
    body = filing(3001, adjudicated_amount=5_000)
    body["parties"].append(second)
    case = case_service().open(OpenCase.model_validate(body), actor="clerk-1")[0]
    gateway = OneNumberDown(broken="13700001111")
    flaky = CollectionService(
        collection.store,
        lambda: collection.rail,
        clock,
        cases=case_service(),
        ledger=ledger_service(),
        notifier=ChannelNotifier({Channel.SMS: gateway}, clock=clock),
    )
    step = flaky.start_payment(
        case.account_number, StartPayment(amount=5_000), idempotency_key=None
    )
    assert step.payment.rail_reference is not None
    pay_at_rail(localstripe, step.payment.rail_reference)
    flaky.refresh(step.payment.payment_id)
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        flaky.sweep()
    assert gateway.sent == ["13812345678"]
    assert len(collection.store.pending_notices()) == 1

    gateway.broken = None
    assert flaky.sweep().notices_sent == 1
    assert gateway.sent == ["13812345678", "13700001111"]
    assert collection.store.pending_notices() == []


@pytest.mark.usefixtures("rail_emptied")
def test_payment_that_keeps_failing_does_not_hold_the_sweepers_window_open(
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One payment that cannot settle (a bug, a bad record) is retried on its own; the runs
    still move on, so their window and cost do not grow until a run no longer finishes."""
    case, payment_id = paid_without_webhook(collection, localstripe, 1_200)
    rail = collection.rail
    list_since = rail.succeeded_since
    windows: list[Any] = []

    def recorded(moment: Any) -> Any:
        windows.append(moment)
        return list_since(moment)

    def ledger_down(current: Any) -> Any:
        raise ConnectionError("the ledger did not answer")

    monkeypatch.setattr(rail, "succeeded_since", recorded)
    monkeypatch.setattr(collection.settling, "settle", ledger_down)
    first_run = clock.now()
    for _ in range(3):
        assert collection.sweep().failed == 1
        clock.advance(timedelta(days=1))
    assert windows[-1] == first_run + timedelta(days=1) - SWEEP_OVERLAP  # from the last run
    monkeypatch.undo()

    assert collection.sweep().posted == 1
    assert collection.payment(payment_id).status.display == "paid"
    assert ledger_service().balance(case.account_number).posted == 1_200
    assert collection.store.sweep_retries("stripe") == []


@pytest.mark.usefixtures("rail_emptied")
def test_failure_that_cannot_be_recorded_keeps_the_mark_where_it_was(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paid_without_webhook(collection, localstripe, 700)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("DynamoDB did not answer")

    monkeypatch.setattr(collection.settling, "settle", down)
    monkeypatch.setattr(collection.store, "add_sweep_retry", down)
    assert collection.sweep().failed == 1
    assert collection.store.sweep_mark("stripe") is None
