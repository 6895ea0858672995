"""The disbursement clock: "disbursed within 15 working days unless deferred with approval",
counted on the working-day calendar, started when the money is held for the creditor,
deferred by an approved deferral, met when the creditor is paid."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalicelib.deadlines import ClockState, LimitKind, read_clock
from chalicelib.payouts import DisbursementState, PayoutStatus
from chalicelib.payouts.bodies import DeferralRequest, ProposeDisbursement
from chalicelib.wiring import deadline_service, working_calendar
from tests.payouts.conftest import APPROVER, CLERK, World, approve_all, release_by_staff
from tests.payouts.conftest import FINANCE as FINANCE_1

S = DisbursementState
MONDAY = date(2026, 11, 2)  # the fixed clock's court date


def clock_of(d: Any) -> Any:
    return deadline_service().store.clock(LimitKind.DISBURSEMENT, d.disbursement_id)


def proposed(world: World) -> Any:
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=300_000)
    return world.workflow.propose(world.case.case_id, body, by=CLERK)


def test_the_clock_starts_when_the_chain_holds_the_money_for_the_creditor(world: World) -> None:
    d = proposed(world)
    assert clock_of(d) is None  # a proposal is not yet money held for the creditor
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    assert clock_of(d) is None  # nor is half a chain
    approve_all(world.workflow, world.workflow.get(d.disbursement_id))
    clock = clock_of(d)
    assert clock is not None
    assert (clock.court, clock.started_on, clock.working_days) == ("粤0604", MONDAY, 15)
    # Fifteen working days after Monday 2 November 2026: Monday 23 November.
    assert clock.due_on == date(2026, 11, 23)
    assert clock.due_on == working_calendar().add_working_days(MONDAY, 15).due
    reading = read_clock(clock, working_calendar(), today=date(2026, 11, 24), near_due=1)
    assert reading.state == ClockState.OVERDUE


def test_an_approved_deferral_defers_the_clock_with_its_reason_and_end(world: World) -> None:
    d = approve_all(world.workflow, proposed(world))
    until = world.clock.now() + timedelta(days=30)
    world.workflow.request_deferral(
        d.disbursement_id, DeferralRequest(reason="案外人提出执行异议", until=until), by=CLERK
    )
    assert clock_of(d).deferral is None  # asked, not yet approved
    world.workflow.decide_deferral(d.disbursement_id, by=APPROVER, approve=True)
    deferral = clock_of(d).deferral
    assert deferral is not None
    assert deferral.reason == "案外人提出执行异议"
    assert deferral.until == date(2026, 12, 2)
    assert "chief-1" in deferral.approved_by
    reading = read_clock(clock_of(d), working_calendar(), today=date(2026, 11, 30), near_due=1)
    assert reading.state == ClockState.DEFERRED  # past the 15 days, but deferred with approval


def test_a_refused_deferral_leaves_the_clock_running(world: World) -> None:
    d = approve_all(world.workflow, proposed(world))
    until = world.clock.now() + timedelta(days=30)
    world.workflow.request_deferral(
        d.disbursement_id, DeferralRequest(reason="案外人提出执行异议", until=until), by=CLERK
    )
    world.workflow.decide_deferral(d.disbursement_id, by=APPROVER, approve=False, reason="无据")
    assert clock_of(d).deferral is None


def test_payment_stops_the_clock(world: World) -> None:
    d = approve_all(world.workflow, proposed(world))
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE_1, reason="单位债权人")
    sent = release_by_staff(world.sender, d)
    assert clock_of(d).met_on is None  # sent is not paid
    world.clock.advance(timedelta(days=3))
    world.rail.set_status(sent.rail_key, PayoutStatus.PAID)
    paid = world.sender.settle(sent, world.rail.retrieve(sent.rail_reference))
    assert paid.state == S.PAID
    clock = clock_of(d)
    assert clock.met_on == date(2026, 11, 5)
    reading = read_clock(clock, working_calendar(), today=date(2026, 12, 31), near_due=1)
    assert reading.state == ClockState.MET


def open_subjects() -> list[str]:
    return [c.subject for c in deadline_service().store.open_clocks()]


def test_a_disbursement_cancelled_after_approval_withdraws_its_clock(world: World) -> None:
    kept = approve_all(world.workflow, proposed(world))
    d = approve_all(world.workflow, proposed(world))
    world.workflow.cancel(d.disbursement_id, by=CLERK, reason="当事人已和解")
    clock = clock_of(d)
    assert (clock.withdrawn_on, clock.withdrawn_reason, clock.met_on) == (
        MONDAY,
        "cancelled",
        None,
    )
    assert open_subjects() == [kept.disbursement_id]  # the daily job escalates open clocks only


def test_an_expired_disbursement_withdraws_its_clock(world: World) -> None:
    d = approve_all(world.workflow, proposed(world))
    world.clock.advance(timedelta(days=56))
    assert world.sender.sweep().expired == 1
    clock = clock_of(d)
    assert clock.withdrawn_reason == "expired"
    assert clock.met_on is None
    assert open_subjects() == []


def test_a_payment_the_bank_returns_runs_a_new_clock_until_paid_again(world: World) -> None:
    d = approve_all(world.workflow, proposed(world))
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE_1, reason="单位债权人")
    sent = release_by_staff(world.sender, d)
    world.rail.set_status(sent.rail_key, PayoutStatus.PAID)
    world.sender.settle(sent, world.rail.retrieve(sent.rail_reference))
    assert clock_of(d).met_on == MONDAY
    world.clock.advance(timedelta(days=30))  # the bank sends it back a month later
    world.rail.set_status(sent.rail_key, PayoutStatus.RETURNED, "returned by the bank: R02")
    paid = world.workflow.get(d.disbursement_id)
    returned = world.sender.settle(paid, world.rail.retrieve(sent.rail_reference))
    assert returned.state == S.RETURNED
    assert clock_of(d).met_on == MONDAY  # paid in time once; that stays on record
    again = deadline_service().store.clock(LimitKind.DISBURSEMENT, returned.clock_subject)
    assert again is not None
    assert again.subject != d.disbursement_id
    assert again.started_on == date(2026, 12, 2)
    assert again.met_on is None
    assert again.subject in open_subjects()  # the daily job chases the payment again
    reading = read_clock(again, working_calendar(), today=date(2026, 12, 31), near_due=1)
    assert reading.state == ClockState.OVERDUE
    reissued = world.workflow.reissue(d.disbursement_id, by=FINANCE_1)
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE_1, reason="单位债权人")
    resent = release_by_staff(world.sender, reissued)
    world.rail.set_status(resent.rail_key, PayoutStatus.PAID)
    world.sender.settle(resent, world.rail.retrieve(resent.rail_reference))
    assert deadline_service().store.clock(LimitKind.DISBURSEMENT, again.subject).met_on == date(
        2026, 12, 2
    )
    assert again.subject not in open_subjects()
