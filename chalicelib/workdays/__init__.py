"""The working-day calendar (工作日) that every statutory time limit is counted on.

Other packages are handed a ``WorkingCalendar`` (built in ``chalicelib.wiring``) and use the
names exported here: ``add_working_days``
for a due date, ``working_days_between`` for how long money waited, ``court_date`` for the
court's date of an instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from chalicelib.workdays.working_calendar import WorkingCalendar, package_years

if TYPE_CHECKING:
    from chalicelib.workdays.store import ScheduleStore

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
]

# Services and stores load when first asked for, so a route that imports this package's models
# does not pay for them at cold start.
_LAZY = {"ScheduleStore": "chalicelib.workdays.store"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
