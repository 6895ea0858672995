"""The working-day calendar (工作日) that every statutory time limit is counted on.

Other packages use ``working_calendar()`` and the names exported here: ``add_working_days``
for a due date, ``working_days_between`` for how long money waited, ``court_date`` for the
court's date of an instant.
"""

from __future__ import annotations

from chalicelib import wiring
from chalicelib.workdays.errors import CalendarError, ScheduleConflict, ScheduleNotFound
from chalicelib.workdays.models import (
    CHINA_TIME,
    CalendarStatus,
    DaySource,
    WorkingDay,
    WorkingDeadline,
    WorkingSpan,
    YearSchedule,
    court_date,
)
from chalicelib.workdays.store import ScheduleStore
from chalicelib.workdays.working_calendar import WorkingCalendar, package_years

__all__ = [
    "CHINA_TIME",
    "CalendarError",
    "CalendarStatus",
    "DaySource",
    "ScheduleConflict",
    "ScheduleNotFound",
    "ScheduleStore",
    "WorkingCalendar",
    "WorkingDay",
    "WorkingDeadline",
    "WorkingSpan",
    "YearSchedule",
    "court_date",
    "package_years",
    "schedule_store",
    "working_calendar",
]


def schedule_store() -> ScheduleStore:
    return wiring.cached(
        "schedule_store",
        lambda: ScheduleStore(wiring.dynamodb(), wiring.table_name("OVERSIGHT_TABLE")),
    )


def working_calendar() -> WorkingCalendar:
    """The process-wide calendar, built on first use."""

    def build() -> WorkingCalendar:
        settings = wiring.settings()
        return WorkingCalendar(
            schedule_store(),
            clock=wiring.clock(),
            refresh_seconds=settings.calendar_refresh_seconds,
            horizon_days=settings.calendar_alarm_horizon_days,
        )

    return wiring.cached("working_calendar", build)
