"""Item clocks: due, near due, overdue, deferred and met, on the working-day calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.clock import FixedClock
from chalicelib.deadlines import ClockState, Deferral, LimitKind, read_clock, start_clock
from chalicelib.settings import CourtLimitOverride, CourtLimits, Settings
from chalicelib.workdays import WorkingCalendar
from tests.workdays.test_working_calendar import Schedules, schedule_2027

LIMITS = CourtLimits()
# 29 September 2026, 10:00 in Beijing.
ARRIVED = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)


@pytest.fixture
def schedules() -> Schedules:
    return Schedules()


@pytest.fixture
def calendar(schedules: Schedules) -> WorkingCalendar:
    return WorkingCalendar(schedules, clock=FixedClock(ARRIVED), refresh_seconds=0)


def test_a_claim_clock_runs_over_national_day(calendar: WorkingCalendar) -> None:
    clock = start_clock(
        calendar, LIMITS, LimitKind.CLAIM, subject="pi_1", court="粤0604", arrived_at=ARRIVED
    )
    # 30 September, then 8 and 9 October (1-7 October are off).
    assert clock.due_on == date(2026, 10, 9)

    def state(day: date) -> ClockState:
        return read_clock(clock, calendar, today=day, near_due=1).state

    assert state(date(2026, 9, 30)) is ClockState.RUNNING
    assert state(date(2026, 10, 5)) is ClockState.RUNNING  # a holiday eats no working day
    assert state(date(2026, 10, 8)) is ClockState.NEAR_DUE
    assert state(date(2026, 10, 9)) is ClockState.NEAR_DUE
    late = read_clock(clock, calendar, today=date(2026, 10, 12), near_due=1)
    assert late.state is ClockState.OVERDUE
    assert late.working_days_left == -2  # Saturday 10 October (make-up) and Monday 12


def test_a_met_clock_stays_met(calendar: WorkingCalendar) -> None:
    clock = start_clock(
        calendar, LIMITS, LimitKind.CLAIM, subject="pi_1", court="粤0604", arrived_at=ARRIVED
    ).model_copy(update={"met_on": date(2026, 9, 30)})
    assert read_clock(clock, calendar, today=date(2026, 12, 1), near_due=1).state is ClockState.MET


def test_a_deferral_holds_the_clock_until_its_end(calendar: WorkingCalendar) -> None:
    clock = start_clock(
        calendar,
        LIMITS,
        LimitKind.DISBURSEMENT,
        subject="d-1",
        court="粤0604",
        arrived_at=ARRIVED,
    )
    deferred = clock.model_copy(
        update={
            "deferral": Deferral(
                reason="案外人异议审查中", until=date(2026, 11, 30), approved_by="approver-1"
            )
        }
    )
    reading = read_clock(deferred, calendar, today=date(2026, 11, 2), near_due=1)
    assert reading.state is ClockState.DEFERRED
    assert reading.due_on == date(2026, 11, 30)
    after = read_clock(deferred, calendar, today=date(2026, 12, 1), near_due=1)
    assert after.state is ClockState.OVERDUE


def test_a_deferral_ending_before_the_due_date_never_brings_it_forward(
    calendar: WorkingCalendar,
) -> None:
    clock = start_clock(
        calendar, LIMITS, LimitKind.DISBURSEMENT, subject="d-1", court="粤0604",
        arrived_at=ARRIVED,
    )  # fmt: skip
    short = Deferral(reason="等待执行异议裁定", until=ARRIVED.date(), approved_by="approver-1")
    deferred = clock.model_copy(update={"deferral": short})
    later = calendar.add_working_days(ARRIVED.date(), 3).due
    reading = read_clock(deferred, calendar, today=later, near_due=1)
    assert reading.state is ClockState.RUNNING
    assert reading.due_on == clock.due_on
    assert read_clock(deferred, calendar, today=clock.due_on, near_due=1).state is not (
        ClockState.OVERDUE
    )


def test_a_provisional_clock_is_recounted_once_the_year_is_announced(
    calendar: WorkingCalendar, schedules: Schedules
) -> None:
    clock = start_clock(
        calendar,
        LIMITS,
        LimitKind.NOTICE,
        subject="4406042600000011",
        court="粤0604",
        arrived_at=datetime(2026, 12, 29, 2, 0, tzinfo=UTC),
    )
    assert clock.provisional
    assert clock.due_on == date(2027, 1, 5)
    schedules.entered[2027] = schedule_2027()
    calendar.forget(2027)
    reading = read_clock(clock, calendar, today=date(2027, 1, 5), near_due=1)
    assert reading.due_on == date(2027, 1, 6)
    assert not reading.provisional
    assert reading.state is ClockState.NEAR_DUE


def test_a_court_sets_its_own_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_ISSUER", "https://auth.court-funds.test")
    monkeypatch.setenv("AUTH_AUDIENCE", "court-funds-test")
    monkeypatch.setenv("LIMITS_BY_COURT", '{"粤0604": {"disbursement": 10}}')
    settings = Settings()
    assert settings.limits_for("粤0604").disbursement == 10
    assert settings.limits_for("粤0604").claim == 3
    assert settings.limits_for("粤0105").disbursement == 15
    assert CourtLimitOverride(disbursement=10).claim is None
