"""The working-day calendar's values: a day's verdict, a year's announced schedule, a deadline.

Courts count time limits in working days (工作日) on the PRC calendar: public holidays are off
and some Saturdays or Sundays are make-up working days (调休). Dates are court-local dates
(China Standard Time, UTC+8, which has no daylight saving).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

CHINA_TIME = timezone(timedelta(hours=8), "CST")


def court_date(moment: datetime) -> date:
    """The calendar date at the court (UTC+8) of an instant."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TIME).date()


class DaySource(StrEnum):
    """Where a day's verdict came from, most trusted first."""

    PACKAGE = "package"  # the maintained chinesecalendar package
    ANNOUNCED = "announced"  # a schedule an administrator entered from the State Council notice
    WEEKDAY_FALLBACK = "weekday_fallback"  # no data: Monday to Friday, provisional


@dataclass(frozen=True)
class WorkingDay:
    day: date
    working: bool
    source: DaySource

    @property
    def provisional(self) -> bool:
        return self.source is DaySource.WEEKDAY_FALLBACK


@dataclass(frozen=True)
class WorkingDeadline:
    """``working_days`` after ``start`` (the start day itself not counted) falls on ``due``.

    ``provisional`` is true when some day on the way was counted as a plain weekday because
    no schedule for its year is known yet; ``unknown_years`` names those years, so the alarm
    can say which schedule to enter."""

    start: date
    working_days: int
    due: date
    provisional: bool
    unknown_years: tuple[int, ...] = ()


@dataclass(frozen=True)
class WorkingSpan:
    """How many working days lie after ``start`` up to and including ``end``."""

    start: date
    end: date
    working_days: int
    provisional: bool
    unknown_years: tuple[int, ...] = ()


class YearSchedule(BaseModel):
    """A year's holidays and make-up working days as announced, entered by an administrator
    before the maintained package has the year. Each entry is a new version; none is
    overwritten, so the history shows who entered what and when."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    year: int = Field(ge=2000, le=2200)
    holidays: tuple[date, ...] = Field(max_length=60)  # weekdays off (法定节假日 and 调休 rest)
    workdays: tuple[date, ...] = Field(max_length=20)  # weekend days worked (调休上班)
    source_note: str = Field(min_length=1, max_length=500)  # e.g. 国办发明电〔2026〕x号
    version: int = Field(ge=1)
    entered_by: str
    entered_at: datetime

    @model_validator(mode="after")
    def _days_in_year(self) -> YearSchedule:
        for day in (*self.holidays, *self.workdays):
            if day.year != self.year:
                raise ValueError(f"{day.isoformat()} is not in {self.year}")
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise ValueError(f"{min(both).isoformat()} is both a holiday and a working day")
        for day in self.workdays:
            if day.weekday() < 5:
                raise ValueError(
                    f"{day.isoformat()} is a weekday; only weekend days are make-up days"
                )
        return self


class CalendarStatus(BaseModel):
    """Which years the calendar can count exactly, and the alarm when it cannot."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    package_years: tuple[int, int]
    announced_years: tuple[int, ...]
    needed_years: tuple[int, ...]  # years a deadline reaches that nobody has a schedule for
    alarm: str | None
