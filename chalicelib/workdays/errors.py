"""Errors of the working-day calendar, rendered as problem+json by the HTTP edge."""

from __future__ import annotations

from chalicelib.problems import ProblemError


class CalendarError(ProblemError):
    status = 400
    slug = "calendar/invalid"
    title = "The calendar request is not valid"


class ScheduleConflict(CalendarError):
    """Someone else entered a schedule for the year between our read and our write, or the
    maintained package already knows the year."""

    status = 409
    slug = "calendar/conflict"
    title = "The year's schedule cannot be entered"


class ScheduleNotFound(CalendarError):
    status = 404
    slug = "calendar/not-found"
    title = "No schedule has been entered for that year"
