"""Deadline routes: clocks by court and state for staff, the daily job on a schedule and on
demand, and the public page of unclaimed money (公示)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalice.app import Blueprint, Cron, Response
from pydantic import Field

from chalicelib import wiring
from chalicelib.bodies import RequestBody
from chalicelib.deadlines import (
    ClockState,
    PublicationStatus,
    deadline_service,
    read_clock,
)
from chalicelib.deadlines.page import render
from chalicelib.http import Call, route
from chalicelib.identity import READERS, Role
from chalicelib.workdays import court_date, working_calendar

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


def report_dict(report: Any) -> dict[str, Any]:
    values = asdict(report)
    values["day"] = report.day.isoformat()
    return values


@route(blueprint, "/deadlines", roles=READERS, query=ClockQuery)
def open_clocks(call: Call) -> Any:
    """Open items with their clocks as they read today, most overdue first."""
    query: ClockQuery = call.query
    service = deadline_service()
    calendar = working_calendar()
    today = court_date(wiring.clock().now())
    settings = wiring.settings()
    rows = []
    for clock in service.store.open_clocks():
        if query.court is not None and clock.court != query.court:
            continue
        reading = read_clock(
            clock, calendar, today=today, near_due=settings.limits_for(clock.court).near_due
        )
        if query.state is not None and reading.state is not query.state:
            continue
        rows.append(
            {
                "kind": clock.kind.value,
                "subject": clock.subject,
                "court": clock.court,
                "started_on": clock.started_on.isoformat(),
                "due_on": reading.due_on.isoformat(),
                "state": reading.state.value,
                "working_days_left": reading.working_days_left,
                "provisional": reading.provisional,
                "deferral": clock.deferral,
            }
        )
    rows.sort(key=lambda r: (r["working_days_left"], r["subject"]))
    return rows[: query.limit]


@route(blueprint, "/deadlines/run", methods=["POST"], roles=[Role.ADMIN])
def run_deadlines(call: Call) -> Any:
    """Run the daily job now (it is safe to run again: nothing is escalated twice a day)."""
    return report_dict(deadline_service().run())


@route(blueprint, "/deadlines/refund-due", roles=[Role.FINANCE, Role.AUDITOR, Role.ADMIN])
def refund_due(call: Call) -> Any:
    """Unclaimed money whose published period ended: to be refunded to the payer."""
    return deadline_service().store.publications(PublicationStatus.REFUND_DUE)


@route(blueprint, "/public/unclaimed", public=True)
def unclaimed_page(call: Call) -> Response:
    """不明款项公示: the published unclaimed payments."""
    published = deadline_service().store.publications(PublicationStatus.PUBLISHED)
    published.sort(key=lambda p: (p.arrived_on, p.masked_reference))
    return Response(body=render(published), status_code=200, headers=PAGE_HEADERS)


# 00:30 UTC is 08:30 in Beijing: escalations reach people as the working day starts.
@blueprint.schedule(Cron(30, 0, "*", "*", "?", "*"))
def daily_deadlines(event: Any) -> dict[str, Any]:
    return report_dict(deadline_service().run())
