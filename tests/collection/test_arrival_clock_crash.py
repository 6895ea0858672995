"""No money counts on a case without its notice clock: the clock starts in the transaction that
counts the money, so a function that dies right after that commit (where the clock used to be
written as a separate step) still leaves the arrival with its 5-working-day clock, on every
path that counts money: an online payment settled (webhook, page or sweeper), counter cash and
a claim of unidentified money."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.collection.arrivals import ClockTeller
from chalicelib.collection.models import StartPayment
from chalicelib.deadlines import ItemClock, LimitKind, PublicationStatus
from chalicelib.identity.roles import Principal, Role
from chalicelib.wiring import counter_cash_desk, deadline_service, working_calendar
from chalicelib.workdays import court_date
from tests.collection.conftest import foreign_intent, open_case, pay_at_rail


@pytest.fixture
def dies_after_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """The function times out the moment the count has committed, before anything after it."""

    def dies(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the function timed out")

    monkeypatch.setattr(ClockTeller, "counted", dies)


def notice_clock(transfer_id: str | None) -> ItemClock:
    assert transfer_id is not None
    found = deadline_service().store.clock(LimitKind.NOTICE, transfer_id)
    assert found is not None, f"no notice clock for {transfer_id}"
    return found


@pytest.mark.usefixtures("dies_after_the_count")
def test_a_payment_settled_by_the_sweeper_keeps_its_clock_when_the_function_dies(
    collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    step = collection.start_payment(
        case.account_number, StartPayment(amount=4_000), idempotency_key=None
    )
    reference = step.payment.rail_reference
    assert reference is not None
    pay_at_rail(localstripe, reference)

    report = collection.sweep()

    assert report.failed == 1  # the sweeper saw the function die after the count
    paid = collection.payment(step.payment.payment_id)
    assert paid.status.display == "paid"
    clock = notice_clock(paid.transfer_id)
    assert paid.paid_at is not None
    assert (clock.case_id, clock.amount) == (case.case_id, 4_000)
    assert clock.started_on == court_date(paid.paid_at)
    # the same run sent the notice the count left pending, which met the clock
    assert clock.met_on == court_date(paid.paid_at)
    assert clock.due_on == working_calendar().add_working_days(clock.started_on, 5).due


@pytest.mark.usefixtures("dies_after_the_count")
def test_a_payment_settled_from_the_rail_keeps_its_clock_when_the_function_dies(
    collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    step = collection.start_payment(
        case.account_number, StartPayment(amount=2_500), idempotency_key=None
    )
    reference = step.payment.rail_reference
    assert reference is not None
    pay_at_rail(localstripe, reference)

    with pytest.raises(ConnectionError):
        collection.settle(collection.rail.retrieve(reference))

    paid = collection.payment(step.payment.payment_id)
    assert notice_clock(paid.transfer_id).amount == 2_500
    assert collection.store.standing(case.case_id).paid == 2_500


@pytest.mark.usefixtures("dies_after_the_count")
def test_counter_cash_keeps_its_clock_when_the_function_dies(
    collection: CollectionService, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    desk = counter_cash_desk()
    desk.enter(
        id="cash-crash-1",
        account_number=case.account_number,
        amount=3_000,
        receipt_no="GD-2026-91",
        received_at=clock.now(),
        by=Principal(subject="clerk-3", name="clerk-3", roles=frozenset({Role.CLERK})),
    )
    with pytest.raises(ConnectionError):
        desk.confirm(
            "cash-crash-1",
            by=Principal(subject="finance-7", name="finance-7", roles=frozenset({Role.FINANCE})),
        )

    assert collection.store.standing(case.case_id).paid == 3_000
    clock_started = notice_clock("cash-crash-1")
    assert (clock_started.case_id, clock_started.amount) == (case.case_id, 3_000)


@pytest.mark.usefixtures("dies_after_the_count")
def test_a_claim_keeps_its_clock_when_the_function_dies(
    collection: CollectionService, localstripe: str
) -> None:
    reference = foreign_intent(localstripe, 1_800)
    pay_at_rail(localstripe, reference)
    assert collection.settle(collection.rail.retrieve(reference)).outcome == "unidentified"
    case = open_case(serial=4322, amount=10_000)

    with pytest.raises(ConnectionError):
        collection.claim(
            reference,
            account_number=case.account_number,
            reason="付款人来电确认案号",
            actor="clerk-5",
            confirmed_by="fin-7",
            confirmer_subject="fin-7",
        )

    claimed = collection.store.unidentified(reference)
    assert claimed is not None
    assert claimed.status == "claimed"
    assert collection.store.standing(case.case_id).paid == 1_800
    assert notice_clock(claimed.claim_transfer_id).case_id == case.case_id


@pytest.mark.usefixtures("dies_after_the_count")
def test_a_claim_clock_a_crash_left_open_is_met_by_the_daily_run_not_published(
    collection: CollectionService, localstripe: str, clock: FixedClock
) -> None:
    """The claim clock is met after the claim commits (meeting it rewrites the clock, which
    needs a read, unlike a notice clock's start); a function that dies there leaves it open,
    and the daily run finds the money claimed before it would warn or publish."""
    reference = foreign_intent(localstripe, 900)
    pay_at_rail(localstripe, reference)
    assert collection.settle(collection.rail.retrieve(reference)).outcome == "unidentified"
    case = open_case(serial=4323, amount=10_000)
    with pytest.raises(ConnectionError):
        collection.claim(
            reference,
            account_number=case.account_number,
            reason="付款人来电确认案号",
            actor="clerk-5",
            confirmed_by="fin-7",
            confirmer_subject="fin-7",
        )
    deadlines = deadline_service()
    claim_clock = deadlines.store.clock(LimitKind.CLAIM, reference)
    assert claim_clock is not None
    assert claim_clock.met_on is None  # the gap this test is about

    claimed_on = court_date(clock.now())
    deadlines.run(working_calendar().add_working_days(claimed_on, 10).due)
    claim_clock = deadlines.store.clock(LimitKind.CLAIM, reference)
    assert claim_clock is not None
    assert claim_clock.met_on == claimed_on
    published = deadlines.published(PublicationStatus.PUBLISHED)
    assert reference not in {p.reference for p in published}
