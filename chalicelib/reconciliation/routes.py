"""Reconciliation routes: run a day, read and export it, resolve differences, close the day;
and the daily run after midnight in Beijing.

A day is reconciled per deployment: the deployment's one rail account holds the money of every
court it serves, so a day's figures and its rail movements belong to no one court. A difference
that names a case account (a case account below zero) belongs to that account's court: it is
shown, exported and resolved only by staff who see that court, and another court's answers as
no item at all.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalice.app import Blueprint, Cron, Response
from pydantic import Field, RootModel

from chalicelib import wiring
from chalicelib.answers import AnswerBody
from chalicelib.bodies import Reason, RequestBody
from chalicelib.http import Call, route
from chalicelib.identity import Principal, Role
from chalicelib.reconciliation.errors import ItemNotFound, ReconciliationError
from chalicelib.reconciliation.models import DayResult, ReconciliationItem
from chalicelib.wiring import reconciliation_service
from chalicelib.workdays import court_date

blueprint = Blueprint(__name__)

READERS = (Role.FINANCE, Role.AUDITOR, Role.ADMIN)
# Running books the rail's fees, so it is a change: auditors read the results and export them.
RUNNERS = (Role.FINANCE, Role.ADMIN)
CURRENCY = r"^[A-Z]{3}$"


class DayQuery(RequestBody):
    currency: str = Field(default="CNY", pattern=CURRENCY)


class DaysQuery(RequestBody):
    currency: str = Field(default="CNY", pattern=CURRENCY)
    start: date
    end: date
    limit: int = Field(default=31, ge=1, le=366)


class ResolveItem(RequestBody):
    note: Reason
    correction_transfer_id: str | None = Field(default=None, min_length=1, max_length=200)


class DayResults(RootModel[list[DayResult]]):
    """Results of days, newest first."""


class DayShown(AnswerBody):
    """A day's result and the differences the caller sees."""

    result: DayResult
    items: list[ReconciliationItem]


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise ReconciliationError("the day is a date such as 2026-11-27") from error
    if day >= court_date(wiring.clock().now()):
        raise ReconciliationError("only a day that has ended can be reconciled")
    return day


def _seen(principal: Principal, item: ReconciliationItem) -> bool:
    """A difference naming a case account is its court's; the rail's own are everyone's."""
    return principal.sees_accounts([item.reference])


@route(blueprint, "/reconciliation/days", roles=READERS, query=DaysQuery, answer=DayResults)
def reconciliation_days(call: Call) -> Any:
    """Results of the days from ``start`` to ``end``, newest first."""
    query: DaysQuery = call.query
    return reconciliation_service().days(query.currency, query.start, query.end, limit=query.limit)


@route(
    blueprint,
    "/reconciliation/days/{day}/run",
    methods=["POST"],
    roles=RUNNERS,
    query=DayQuery,
    answer=DayResult,
)
def run_reconciliation(call: Call, day: str) -> Any:
    """Reconcile a day on demand; safe to repeat."""
    query: DayQuery = call.query
    return reconciliation_service().run(_day(day), currency=query.currency, by=call.actor.actor)


@route(blueprint, "/reconciliation/days/{day}", roles=READERS, query=DayQuery, answer=DayShown)
def reconciliation_day(call: Call, day: str) -> Any:
    """The day's result and its differences."""
    query: DayQuery = call.query
    result, items = reconciliation_service().day(_day(day), currency=query.currency)
    return DayShown(result=result, items=[i for i in items if _seen(call.actor, i)])


@route(
    blueprint,
    "/reconciliation/days/{day}/export.csv",
    roles=READERS,
    query=DayQuery,
    media_type="text/csv",
)
def reconciliation_export(call: Call, day: str) -> Response:
    query: DayQuery = call.query
    which = _day(day)
    text = reconciliation_service().export_csv(
        which, currency=query.currency, shown=lambda i: _seen(call.actor, i)
    )
    name = f"reconciliation-{query.currency}-{which.isoformat()}.csv"
    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@route(
    blueprint,
    "/reconciliation/days/{day}/items/{item}/resolve",
    methods=["POST"],
    roles=[Role.FINANCE],
    body=ResolveItem,
    query=DayQuery,
    answer=ReconciliationItem,
)
def resolve_item(call: Call, day: str, item: str) -> Any:
    """Finance explains one difference with a note (and the correction, where money moved)."""
    body: ResolveItem = call.body
    query: DayQuery = call.query
    service, which = reconciliation_service(), _day(day)
    _, items = service.day(which, currency=query.currency)
    for found in items:
        if found.item_id == item:
            hidden = ItemNotFound(f"no reconciliation item {item} on {which} ({query.currency})")
            call.actor.check_accounts([found.reference], act=True, hidden_as=hidden)
    return service.resolve(
        which,
        item,
        currency=query.currency,
        note=body.note,
        by=call.actor.actor,
        correction_transfer_id=body.correction_transfer_id,
    )


@route(
    blueprint,
    "/reconciliation/days/{day}/close",
    methods=["POST"],
    roles=[Role.FINANCE],
    query=DayQuery,
    answer=DayResult,
)
def close_day(call: Call, day: str) -> Any:
    """Close the day; refused (409) while any difference is unexplained."""
    query: DayQuery = call.query
    return reconciliation_service().close(_day(day), currency=query.currency, by=call.actor.actor)


# 17:30 UTC is 01:30 in Beijing: the rail has booked the day that just ended.
@blueprint.schedule(Cron(30, 17, "*", "*", "?", "*"))
def reconcile_yesterday(event: Any) -> dict[str, Any]:
    """The daily reconciliation of the day that ended, in CNY."""
    yesterday = court_date(wiring.clock().now()) - timedelta(days=1)
    result = reconciliation_service().run(yesterday, by="schedule:reconciliation")
    return {"day": yesterday.isoformat(), "status": result.status.value, "open": result.open_items}
