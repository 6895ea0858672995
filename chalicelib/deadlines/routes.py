"""Deadline routes: clocks by court and state for staff, the daily job on a schedule and on
demand, and the public page of unclaimed money (公示)."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalice.app import Blueprint, Cron, Response
from pydantic import Field, RootModel

from chalicelib.answers import AnswerBody
from chalicelib.bodies import RequestBody
from chalicelib.cases.scope import check_every_court
from chalicelib.deadlines import ClockState, PublicationStatus
from chalicelib.deadlines.clocks import Deferral, LimitKind
from chalicelib.deadlines.daily import DailyReport
from chalicelib.deadlines.models import Publication
from chalicelib.deadlines.page import render
from chalicelib.http import Call, route
from chalicelib.identity import READERS, CourtNotYours, Role
from chalicelib.wiring import deadline_service

blueprint = Blueprint(__name__)

PAGE_HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "public, max-age=300",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ClockQuery(RequestBody):
    court: str | None = Field(default=None, min_length=1, max_length=40)
    state: ClockState | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class ClockShown(AnswerBody):
    """One open item's clock as it reads today."""

    kind: LimitKind
    subject: str
    court: str
    started_on: date
    due_on: date
    state: ClockState
    working_days_left: int
    provisional: bool
    deferral: Deferral | None


class OpenClocks(RootModel[list[ClockShown]]):
    """Open items, most overdue first."""


class Publications(RootModel[list[Publication]]):
    """Unclaimed money, oldest arrival first."""


@route(blueprint, "/deadlines", roles=READERS, query=ClockQuery, answer=OpenClocks)
def open_clocks(call: Call) -> Any:
    """Open items with their clocks as they read today, most overdue first: of the courts the
    caller sees (``?court=`` for one of them), and unidentified money, which has no court."""
    query: ClockQuery = call.query
    if query.court is not None and not call.actor.sees(query.court):
        raise CourtNotYours(f"you neither belong to nor oversee court {query.court}")
    return deadline_service().clocks_today(
        court=query.court, state=query.state, limit=query.limit, seen=call.actor.sees
    )


@route(blueprint, "/deadlines/run", methods=["POST"], roles=[Role.ADMIN], answer=DailyReport)
def run_deadlines(call: Call) -> Any:
    """Run the daily job now (it is safe to run again: nothing is escalated twice a day). It
    runs for every court and reports their totals, so it needs oversight of every province."""
    check_every_court(call.actor, "the daily deadline run")
    return deadline_service().run().model_dump(mode="json")


@route(
    blueprint,
    "/deadlines/refund-due",
    roles=[Role.FINANCE, Role.AUDITOR, Role.ADMIN],
    answer=Publications,
)
def refund_due(call: Call) -> Any:
    """Unclaimed money whose published period ended: to be refunded to the payer."""
    return deadline_service().published(PublicationStatus.REFUND_DUE)


@route(blueprint, "/public/unclaimed", public=True, media_type="text/html")
def unclaimed_page(call: Call) -> Response:
    """不明款项公示: the published unclaimed payments."""
    published = deadline_service().published(PublicationStatus.PUBLISHED)
    return Response(body=render(published), status_code=200, headers=PAGE_HEADERS)


# 00:30 UTC is 08:30 in Beijing: escalations reach people as the working day starts.
@blueprint.schedule(Cron(30, 0, "*", "*", "?", "*"))
def daily_deadlines(event: Any) -> dict[str, Any]:
    return deadline_service().run().model_dump(mode="json")
