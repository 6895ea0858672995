"""Builds the working-day calendar every statutory time limit is counted on, and its use cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.shared import cached, clock, dynamodb, settings, table_name

if TYPE_CHECKING:
    from chalicelib.workdays.schedules import CalendarService
    from chalicelib.workdays.working_calendar import WorkingCalendar


def working_calendar() -> WorkingCalendar:
    """The working-day calendar every statutory time limit is counted on."""

    def build() -> WorkingCalendar:
        from chalicelib.workdays.store import ScheduleStore
        from chalicelib.workdays.working_calendar import WorkingCalendar

        values = settings()
        return WorkingCalendar(
            ScheduleStore(dynamodb(), table_name("OVERSIGHT_TABLE")),
            clock=clock(),
            refresh_seconds=values.calendar_refresh_seconds,
            horizon_days=values.calendar_alarm_horizon_days,
        )

    return cached("working_calendar", build)


def calendar_service() -> CalendarService:
    """The calendar's own use cases: status, due dates, announced schedules."""

    def build() -> CalendarService:
        from chalicelib.workdays.schedules import CalendarService
        from chalicelib.workdays.store import ScheduleStore

        return CalendarService(
            ScheduleStore(dynamodb(), table_name("OVERSIGHT_TABLE")), working_calendar(), clock()
        )

    return cached("calendar_service", build)
