"""Working days on the PRC calendar: holidays, make-up days, and years nobody has announced."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from chalicelib.clock import FixedClock
from chalicelib.workdays import (
    DaySource,
    WorkingCalendar,
    WorkingDay,
    YearSchedule,
    court_date,
    package_years,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Schedules:
    """Announced schedules in memory, as the store would answer."""

    def __init__(self) -> None:
        self.entered: dict[int, YearSchedule] = {}
        self.reads = 0

    def current(self, year: int) -> YearSchedule | None:
        self.reads += 1
        return self.entered.get(year)

    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self.entered))


def schedule_2027(**changes: object) -> YearSchedule:
    values: dict[str, object] = {
        "year": 2027,
        "holidays": (date(2027, 1, 1),),
        "workdays": (),
        "source_note": "国务院办公厅关于2027年部分节假日安排的通知",
        "version": 1,
        "entered_by": "admin-1",
        "entered_at": NOW,
    }
    values.update(changes)
    return YearSchedule.model_validate(values)


@pytest.fixture
def schedules() -> Schedules:
    return Schedules()


@pytest.fixture
def calendar(schedules: Schedules) -> WorkingCalendar:
    return WorkingCalendar(schedules, clock=FixedClock(NOW), refresh_seconds=0)


def test_the_package_knows_2026_and_not_2027() -> None:
    first, last = package_years()
    assert first <= 2026 == last


def test_national_day_week_is_skipped_and_the_make_up_saturday_counts(
    calendar: WorkingCalendar,
) -> None:
    # Money arriving on Wednesday 30 September: 1-7 October are off, Thursday 8 and Friday 9
    # are working days and Saturday 10 October is a make-up working day (调休上班).
    deadline = calendar.add_working_days(date(2026, 9, 30), 3)
    assert deadline.due == date(2026, 10, 10)
    assert not deadline.provisional
    assert calendar.day(date(2026, 10, 10)) == WorkingDay(
        date(2026, 10, 10), True, DaySource.PACKAGE
    )


def test_an_ordinary_weekend_is_not_counted(calendar: WorkingCalendar) -> None:
    # Friday 13 November 2026 + 3 working days: Monday, Tuesday, Wednesday.
    assert calendar.add_working_days(date(2026, 11, 13), 3).due == date(2026, 11, 18)


def test_a_make_up_sunday_counts(calendar: WorkingCalendar) -> None:
    # Sunday 20 September 2026 is worked for the Mid-Autumn and National Day break.
    assert calendar.add_working_days(date(2026, 9, 18), 1).due == date(2026, 9, 20)


def test_money_waiting_is_counted_in_working_days(calendar: WorkingCalendar) -> None:
    span = calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 12))
    assert span.working_days == 4  # 8, 9, 10 (make-up Saturday) and Monday 12 October
    assert calendar.working_days_between(date(2026, 10, 12), date(2026, 10, 1)).working_days == 0


def test_a_deadline_into_an_unknown_year_counts_weekdays_and_is_provisional(
    calendar: WorkingCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        deadline = calendar.add_working_days(date(2026, 12, 29), 5)
        calendar.add_working_days(date(2026, 12, 30), 5)
    # 30, 31 December, then Friday 1, Monday 4, Tuesday 5 January counted as plain weekdays.
    assert deadline.due == date(2027, 1, 5)
    assert deadline.provisional
    assert deadline.unknown_years == (2027,)
    alarms = [r for r in caplog.records if "calendar-year-unknown" in r.getMessage()]
    assert len(alarms) == 1  # once per year per process, not once per deadline
    assert "2027" in alarms[0].getMessage()


def test_an_announced_schedule_replaces_the_weekday_guess(
    calendar: WorkingCalendar, schedules: Schedules
) -> None:
    assert calendar.add_working_days(date(2026, 12, 29), 5).due == date(2027, 1, 5)
    schedules.entered[2027] = schedule_2027()
    calendar.forget(2027)
    deadline = calendar.add_working_days(date(2026, 12, 29), 5)
    assert deadline.due == date(2027, 1, 6)  # 1 January is a holiday in the entered schedule
    assert not deadline.provisional
    assert calendar.day(date(2027, 1, 1)).source is DaySource.ANNOUNCED


def test_an_announced_make_up_weekend_day_counts(
    calendar: WorkingCalendar, schedules: Schedules
) -> None:
    schedules.entered[2027] = schedule_2027(workdays=(date(2027, 1, 9),))
    assert calendar.add_working_days(date(2027, 1, 8), 1).due == date(2027, 1, 9)


def test_a_far_year_never_fails(calendar: WorkingCalendar) -> None:
    verdict = calendar.day(date(2101, 3, 7))  # a Monday nobody will announce for a while
    assert verdict.working
    assert verdict.provisional


def test_the_status_raises_the_alarm_when_a_coming_year_is_unknown(
    schedules: Schedules,
) -> None:
    soon = WorkingCalendar(schedules, clock=FixedClock(NOW), horizon_days=90)
    status = soon.status()
    assert status.needed_years == (2027,)
    assert status.alarm is not None
    assert "2027" in status.alarm
    schedules.entered[2027] = schedule_2027()
    soon.forget(2027)
    assert soon.status().alarm is None
    early = WorkingCalendar(
        schedules, clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)), horizon_days=90
    )
    assert early.status().needed_years == ()


def test_announced_schedules_are_read_again_only_after_the_refresh(schedules: Schedules) -> None:
    clock = FixedClock(NOW)
    calendar = WorkingCalendar(schedules, clock=clock, refresh_seconds=300)
    for _ in range(3):
        calendar.day(date(2027, 2, 1))
    assert schedules.reads == 1


def test_the_court_date_is_china_time() -> None:
    # 17:30 UTC on 30 September is already 1 October in Beijing.
    assert court_date(datetime(2026, 9, 30, 17, 30, tzinfo=UTC)) == date(2026, 10, 1)


def test_a_schedule_refuses_a_weekday_as_a_make_up_day() -> None:
    with pytest.raises(ValueError, match="weekday"):
        schedule_2027(workdays=(date(2027, 1, 6),))
    with pytest.raises(ValueError, match="not in 2027"):
        schedule_2027(holidays=(date(2028, 1, 3),))
