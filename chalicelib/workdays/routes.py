"""Calendar routes: what the calendar knows, due dates, and announced schedules (admin)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from chalice.app import Blueprint, Response
from pydantic import Field

from chalicelib.answers import AnswerBody
from chalicelib.bodies import RequestBody
from chalicelib.http import Call, json_response, route
from chalicelib.identity import READERS, Role
from chalicelib.wiring import calendar_service
from chalicelib.workdays import WorkingDeadline
from chalicelib.workdays.errors import CalendarError
from chalicelib.workdays.models import YearSchedule
from chalicelib.workdays.schedules import EnterSchedule
from chalicelib.workdays.working_calendar import MAX_WORKING_DAYS

blueprint = Blueprint(__name__)


class DeadlineQuery(RequestBody):
    start: date
    working_days: int = Field(ge=0, le=MAX_WORKING_DAYS)


class DeadlineShown(AnswerBody):
    """A due date counted in working days; provisional where a year it reaches has no
    announced schedule (``unknown_years``)."""

    start: date
    working_days: int
    due: date
    provisional: bool
    unknown_years: list[int]


class CalendarStatusShown(AnswerBody):
    """Which years the calendar counts exactly (the package's first and last year, and those
    announced since), the years a deadline reaches that nobody has a schedule for, and the
    alarm when there are such years. ``CalendarStatus`` as it serialises; its pair of package
    years is described as a list of two, because Schemathesis 4.32 turns a 3.1 tuple schema
    (``prefixItems``) into one that it then refuses as invalid."""

    package_years: Annotated[list[int], Field(min_length=2, max_length=2)]
    announced_years: list[int]
    needed_years: list[int]
    alarm: str | None


class YearShown(AnswerBody):
    """An entered schedule: the current version and every earlier one, oldest first."""

    current: YearSchedule
    history: list[YearSchedule]


def _year(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise CalendarError("the year is four digits, e.g. 2027")
    return int(text)


def _deadline(deadline: WorkingDeadline) -> DeadlineShown:
    return DeadlineShown(
        start=deadline.start,
        working_days=deadline.working_days,
        due=deadline.due,
        provisional=deadline.provisional,
        unknown_years=list(deadline.unknown_years),
    )


@route(blueprint, "/calendar/status", roles=READERS, answer=CalendarStatusShown)
def calendar_status(call: Call) -> Any:
    """The years counted exactly, and the alarm when a coming year has no schedule."""
    return calendar_service().status()


@route(blueprint, "/calendar/deadline", roles=READERS, query=DeadlineQuery, answer=DeadlineShown)
def calendar_deadline(call: Call) -> Any:
    """``?start=2026-09-30&working_days=3`` -> the due date, and whether it is provisional."""
    query: DeadlineQuery = call.query
    return _deadline(calendar_service().deadline(query.start, query.working_days))


@route(blueprint, "/calendar/years/{year}", roles=READERS, answer=YearShown)
def calendar_year(call: Call, year: str) -> Any:
    """An entered schedule: the current version and every earlier one."""
    history = calendar_service().year(_year(year))
    return YearShown(current=history[-1], history=history)


@route(
    blueprint,
    "/calendar/years/{year}",
    methods=["POST"],
    roles=[Role.ADMIN],
    body=EnterSchedule,
    answer={201: YearSchedule},
)
def enter_calendar_year(call: Call, year: str) -> Response:
    """Enter (or correct, as a new version) the announced schedule for a year the package
    does not know yet."""
    schedule = calendar_service().enter(_year(year), call.body, by=call.actor)
    return json_response(
        schedule, status=201, headers={"Location": f"/calendar/years/{schedule.year}"}
    )
