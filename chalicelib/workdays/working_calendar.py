"""Counting working days on the PRC calendar, from the best source known for each year.

A year the maintained ``chinesecalendar`` package knows is counted from it; a year it does not
know yet (next year's schedule is announced late in the year) from the schedule an
administrator entered; and a year nobody has entered is counted Monday to Friday, with the
result marked provisional and an alarm in the log. Counting never fails for want of data.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol

from chalicelib.clock import Clock
from chalicelib.workdays.errors import CalendarError
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

log = logging.getLogger(__name__)

MAX_WORKING_DAYS = 250  # about a year of working days; no statutory limit is longer
MAX_SPAN_DAYS = 3 * 366  # a span is counted day by day; three years bounds the work


class AnnouncedSchedules(Protocol):
    """Where administrator-entered schedules are kept (the DynamoDB store, or a dict in tests)."""

    def current(self, year: int) -> YearSchedule | None: ...

    def years(self) -> tuple[int, ...]: ...


@cache
def _package() -> tuple[Any, Any, int, int]:
    """The package's holiday and make-up tables and the years they cover (imported once, late:
    it is a large table and most requests never count days)."""
    from chinese_calendar import constants

    years = [d.year for d in constants.holidays]
    return constants.holidays, constants.workdays, min(years), max(years)


def package_years() -> tuple[int, int]:
    _, _, first, last = _package()
    return first, last


class WorkingCalendar:
    """Working days for deadlines. Thread-safe; announced schedules are re-read after
    ``refresh_seconds`` so an entry made in another Lambda instance is seen soon."""

    def __init__(
        self,
        schedules: AnnouncedSchedules,
        *,
        clock: Clock,
        refresh_seconds: int = 300,
        horizon_days: int = 90,
        on_unknown_year: Callable[[int], None] | None = None,
    ) -> None:
        self._schedules = schedules
        self._clock = clock
        self._refresh = timedelta(seconds=refresh_seconds)
        self._horizon = timedelta(days=horizon_days)
        self._on_unknown_year = on_unknown_year
        self._lock = threading.Lock()
        self._loaded: dict[int, tuple[Any, YearSchedule | None]] = {}
        self._alarmed: set[int] = set()

    # -- one day -------------------------------------------------------------------------

    def day(self, day: date) -> WorkingDay:
        holidays, workdays, first, last = _package()
        if first <= day.year <= last:
            working = day in workdays or (day.weekday() < 5 and day not in holidays)
            return WorkingDay(day, working, DaySource.PACKAGE)
        schedule = self._announced(day.year)
        if schedule is not None:
            working = day in schedule.workdays or (
                day.weekday() < 5 and day not in schedule.holidays
            )
            return WorkingDay(day, working, DaySource.ANNOUNCED)
        self._alarm(day.year)
        return WorkingDay(day, day.weekday() < 5, DaySource.WEEKDAY_FALLBACK)

    # -- deadlines and spans -------------------------------------------------------------

    def add_working_days(self, start: date, working_days: int) -> WorkingDeadline:
        """The date ``working_days`` working days after ``start`` (a limit of 3 working days
        from a Friday arrival before a normal weekend falls on Wednesday)."""
        if not 0 <= working_days <= MAX_WORKING_DAYS:
            raise CalendarError(f"a limit must be 0 to {MAX_WORKING_DAYS} working days")
        day, counted, unknown = start, 0, set()
        while counted < working_days:
            day += timedelta(days=1)
            verdict = self.day(day)
            if verdict.provisional:
                unknown.add(day.year)
            if verdict.working:
                counted += 1
        return WorkingDeadline(
            start=start,
            working_days=working_days,
            due=day,
            provisional=bool(unknown),
            unknown_years=tuple(sorted(unknown)),
        )

    def due_after(self, moment: datetime, working_days: int) -> datetime:
        """The instant ``working_days`` working days after ``moment``, at the same court time of
        day: what is waiting since Wednesday 10:00 before a holiday week is due two working
        days on, after the holiday. What begins on a day off counts from the start of the next
        working day. Beyond the years known it counts Monday to Friday (provisional, alarmed)."""
        local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(CHINA_TIME)
        day = local.date()
        if not self.day(day).working:
            while not self.day(day).working:
                day += timedelta(days=1)
            local = datetime.combine(day, time(0), CHINA_TIME)
        due = self.add_working_days(day, working_days).due
        return datetime.combine(due, local.timetz()).astimezone(UTC)

    def working_days_between(self, start: date, end: date) -> WorkingSpan:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not
        after ``start``): how long money waited, in the unit the rules use."""
        if (end - start).days > MAX_SPAN_DAYS:
            raise CalendarError(f"a span is counted up to {MAX_SPAN_DAYS} days")
        day, counted, unknown = start, 0, set()
        while day < end:
            day += timedelta(days=1)
            verdict = self.day(day)
            if verdict.provisional:
                unknown.add(day.year)
            counted += verdict.working
        return WorkingSpan(
            start=start,
            end=end,
            working_days=counted,
            provisional=bool(unknown),
            unknown_years=tuple(sorted(unknown)),
        )

    def today(self) -> date:
        return court_date(self._clock.now())

    # -- what the calendar knows ---------------------------------------------------------

    def status(self) -> CalendarStatus:
        """The years covered, and an alarm when a year within the horizon (today plus
        ``horizon_days``) has no schedule: deadlines reaching it are only provisional."""
        first, last = package_years()
        announced = tuple(y for y in self._schedules.years() if not first <= y <= last)
        today = self.today()
        reach = range(today.year, (today + self._horizon).year + 1)
        needed = tuple(y for y in reach if not (first <= y <= last) and self._announced(y) is None)
        alarm = None
        if needed:
            alarm = (
                "the working-day calendar has no schedule for "
                + ", ".join(str(y) for y in needed)
                + ": deadlines reaching it count Monday to Friday and are provisional; enter "
                "the announced holiday schedule (POST /calendar/years/{year}) or update the "
                "chinesecalendar package"
            )
        return CalendarStatus(
            package_years=(first, last),
            announced_years=announced,
            needed_years=needed,
            alarm=alarm,
        )

    def forget(self, year: int) -> None:
        """Drop a cached schedule (after an entry in this process)."""
        with self._lock:
            self._loaded.pop(year, None)
            self._alarmed.discard(year)

    def _announced(self, year: int) -> YearSchedule | None:
        now = self._clock.now()
        with self._lock:
            cached = self._loaded.get(year)
            if cached is not None and now - cached[0] < self._refresh:
                return cached[1]
        schedule = self._schedules.current(year)
        with self._lock:
            self._loaded[year] = (now, schedule)
            if schedule is not None:
                self._alarmed.discard(year)
        return schedule

    def _alarm(self, year: int) -> None:
        with self._lock:
            if year in self._alarmed:
                return
            self._alarmed.add(year)
        # Once per year per process: an operator alarm on this line (a CloudWatch metric
        # filter on "calendar-year-unknown") tells the court to enter the new year.
        log.error(
            "calendar-year-unknown: no holiday schedule for %d; counting Monday to Friday "
            "and marking deadlines provisional",
            year,
        )
        if self._on_unknown_year is not None:
            self._on_unknown_year(year)
