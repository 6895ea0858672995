"""Money counted on a case starts the clock for telling its creditor (5 working days on the PRC
calendar), once per arrival, and telling the creditor (the SMS each arrival sends) stops it;
unidentified money's claim clock runs from its arrival, and a claim stops it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.collection.models import StartPayment
from chalicelib.deadlines import ItemClock, LimitKind
from chalicelib.identity.roles import Principal, Role
from chalicelib.wiring import counter_cash_desk, deadline_service, working_calendar
from chalicelib.workdays import court_date
from tests.collection.conftest import card_token, foreign_intent, open_case, pay_at_rail


def clock_of(kind: LimitKind, subject: str) -> ItemClock:
    found = deadline_service().store.clock(kind, subject)
    assert found is not None, f"no {kind.value} clock for {subject}"
    return found


def working_days_after(moment: datetime | None, days: int) -> date:
    assert moment is not None
    return working_calendar().add_working_days(court_date(moment), days).due


def pay(collection: CollectionService, localstripe: str, account: str, amount: int) -> str:
    step = collection.start_payment(
        account, StartPayment(amount=amount, accept_surplus=False), idempotency_key=None
    )
    collection.confirm_card(step.payment.payment_id, card_token(localstripe))
    return step.payment.payment_id


def test_a_payment_starts_one_notice_clock_and_telling_the_creditor_meets_it(
    collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    first = collection.payment(pay(collection, localstripe, case.account_number, 4_000))
    assert first.transfer_id is not None
    running = clock_of(LimitKind.NOTICE, first.transfer_id)
    assert (running.case_id, running.court, running.amount) == (case.case_id, "粤0604", 4_000)
    assert running.due_on == working_days_after(first.paid_at, 5)
    # A part payment: the creditor is told of it by SMS, which meets its clock that day.
    assert first.paid_at is not None
    assert running.met_on == court_date(first.paid_at)

    # The rail tells us again (a webhook retry, the sweeper): still one clock, unchanged.
    assert first.rail_reference is not None
    assert collection.settle(collection.rail.retrieve(first.rail_reference)).outcome == (
        "already_posted"
    )
    assert clock_of(LimitKind.NOTICE, first.transfer_id) == running
    assert len(deadline_service().store.clocks_of_case(LimitKind.NOTICE, case.case_id)) == 1

    rest = collection.payment(pay(collection, localstripe, case.account_number, 6_000))
    assert rest.transfer_id is not None
    # Paid in full: the creditors are told by SMS, which meets the clock of that arrival too.
    assert rest.paid_at is not None
    assert clock_of(LimitKind.NOTICE, rest.transfer_id).met_on == court_date(rest.paid_at)
    assert clock_of(LimitKind.NOTICE, first.transfer_id) == running


def test_unidentified_money_starts_its_claim_clock_on_arrival_and_a_claim_meets_it(
    collection: CollectionService, localstripe: str
) -> None:
    reference = foreign_intent(localstripe, 2_500)
    pay_at_rail(localstripe, reference)
    assert collection.settle(collection.rail.retrieve(reference)).outcome == "unidentified"
    item = collection.store.unidentified(reference)
    assert item is not None
    claim = clock_of(LimitKind.CLAIM, reference)  # no daily job has run
    assert claim.due_on == working_days_after(item.received_at, 3)
    assert (claim.amount, claim.met_on) == (2_500, None)

    case = open_case(serial=4321, amount=10_000)
    claimed = collection.claim(
        reference,
        account_number=case.account_number,
        reason="付款人来电确认案号",
        actor="clerk-5",
        confirmed_by="fin-7",
        confirmer_subject="fin-7",
    )
    assert claimed.claimed_at is not None
    assert clock_of(LimitKind.CLAIM, reference).met_on == court_date(claimed.claimed_at)
    # The money arrived on the case when the claim was confirmed.
    assert claimed.claim_transfer_id is not None
    notice = clock_of(LimitKind.NOTICE, claimed.claim_transfer_id)
    assert (notice.case_id, notice.started_on) == (case.case_id, court_date(claimed.claimed_at))


def test_counter_cash_runs_the_notice_clock_from_when_the_counter_took_it(
    collection: CollectionService, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    taken = clock.now() - timedelta(days=8)
    desk = counter_cash_desk()
    desk.enter(
        id="cash-clock-1",
        account_number=case.account_number,
        amount=3_000,
        receipt_no="GD-2026-77",
        received_at=taken,
        by=Principal(subject="clerk-3", name="clerk-3", roles=frozenset({Role.CLERK})),
    )
    desk.confirm(
        "cash-clock-1",
        by=Principal(subject="finance-7", name="finance-7", roles=frozenset({Role.FINANCE})),
    )
    notice = clock_of(LimitKind.NOTICE, "cash-clock-1")
    assert notice.started_on == court_date(taken)
    assert notice.due_on == working_days_after(taken, 5)
