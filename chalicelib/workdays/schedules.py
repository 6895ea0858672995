"""The calendar's use cases: what it knows, due dates, and entering an announced holiday
schedule for a year the maintained package does not know yet."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from pydantic import Field, ValidationError

from chalicelib.bodies import RequestBody
from chalicelib.clock import Clock
from chalicelib.http import validation_problem
from chalicelib.identity import Principal
from chalicelib.workdays.errors import ScheduleConflict, ScheduleNotFound
from chalicelib.workdays.models import CalendarStatus, WorkingDeadline, YearSchedule
from chalicelib.workdays.working_calendar import package_years

if TYPE_CHECKING:
    from chalicelib.workdays.store import ScheduleStore
    from chalicelib.workdays.working_calendar import WorkingCalendar


class EnterSchedule(RequestBody):
    """The State Council's notice for a year, as an administrator types it in.

    ``expected_version`` is the version the administrator saw (0 for none), so a correction
    made on a stale screen is refused rather than silently replacing a colleague's entry."""

    holidays: list[date] = Field(max_length=60)
    workdays: list[date] = Field(max_length=20)
    source_note: str = Field(min_length=2, max_length=500)
    expected_version: int = Field(ge=0)


class CalendarService:
    def __init__(self, store: ScheduleStore, calendar: WorkingCalendar, clock: Clock) -> None:
        self._store = store
        self._calendar = calendar
        self._clock = clock

    def status(self) -> CalendarStatus:
        return self._calendar.status()

    def deadline(self, start: date, working_days: int) -> WorkingDeadline:
        return self._calendar.add_working_days(start, working_days)

    def year(self, year: int) -> list[YearSchedule]:
        """Every version entered for ``year``, oldest first; 404 when none was."""
        history = self._store.history(year)
        if not history:
            raise ScheduleNotFound(f"no schedule has been entered for {year}")
        return history

    def enter(self, year: int, request: EnterSchedule, *, by: Principal) -> YearSchedule:
        return enter_schedule(
            self._store, self._calendar, self._clock, year=year, request=request, by=by
        )


def enter_schedule(
    store: ScheduleStore,
    calendar: WorkingCalendar,
    clock: Clock,
    *,
    year: int,
    request: EnterSchedule,
    by: Principal,
) -> YearSchedule:
    first, last = package_years()
    if first <= year <= last:
        raise ScheduleConflict(
            f"the maintained calendar package already has {year}; it is used as published"
        )
    current = store.current(year)
    version = current.version if current else 0
    if version != request.expected_version:
        raise ScheduleConflict(
            f"{year} is at version {version}, not {request.expected_version}; "
            "read the current schedule and enter again"
        )
    try:
        schedule = YearSchedule(
            year=year,
            holidays=tuple(sorted(set(request.holidays))),
            workdays=tuple(sorted(set(request.workdays))),
            source_note=request.source_note.strip(),
            version=version + 1,
            entered_by=by.actor,
            entered_at=clock.now(),
        )
    except ValidationError as error:
        raise validation_problem(error) from error
    store.add(schedule)
    calendar.forget(year)
    return schedule
