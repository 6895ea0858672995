"""Monitoring routes for court leaders, finance and auditors: JSON, CSV and the page.

Each reader sees the figures of the monitored courts they belong to or oversee, never another
court's; asking for another court answers as a court not monitored here. Unidentified funds
(no court until claimed) and the reconciliation of the deployment's rail account belong to no
one court and are shown to every reader.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response
from pydantic import Field

from chalicelib import wiring
from chalicelib.bodies import RequestBody
from chalicelib.http import Call, route
from chalicelib.identity import Principal, Role
from chalicelib.monitoring.figures import Overview
from chalicelib.monitoring.page import render
from chalicelib.problems import NotFound
from chalicelib.wiring import monitoring_service
from chalicelib.workdays import court_date

blueprint = Blueprint(__name__)

WATCHERS = (Role.APPROVER, Role.FINANCE, Role.AUDITOR, Role.ADMIN)
CSS = Path(__file__).resolve().parent / "assets" / "oversight.css"
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


class MonitoringQuery(RequestBody):
    court: str | None = Field(default=None, min_length=2, max_length=40)


@cache
def _css() -> str:
    return CSS.read_text(encoding="utf-8")


def _courts(query: MonitoringQuery, principal: Principal) -> list[str]:
    courts = [c for c in wiring.settings().monitored_courts if principal.sees(c)]
    if query.court is None:
        return courts
    if query.court not in courts:
        raise NotFound(f"court {query.court} is not among the courts monitored here")
    return [query.court]


def _view(call: Call) -> Any:
    return monitoring_service().overview(
        _courts(call.query, call.actor), today=court_date(wiring.clock().now())
    )


@route(blueprint, "/monitoring/overview", roles=WATCHERS, query=MonitoringQuery, answer=Overview)
def monitoring_overview(call: Call) -> Any:
    """The figures per court and across the courts monitored here (``?court=`` for one)."""
    return _view(call)


@route(
    blueprint,
    "/monitoring/courts.csv",
    roles=WATCHERS,
    query=MonitoringQuery,
    media_type="text/csv",
)
def monitoring_csv(call: Call) -> Response:
    view = _view(call)
    return Response(
        body=monitoring_service().csv(view),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="monitoring-{view.day}.csv"',
            "Cache-Control": "no-store",
        },
    )


@route(blueprint, "/monitoring", roles=WATCHERS, query=MonitoringQuery, media_type="text/html")
def monitoring_page(call: Call) -> Response:
    """The page for court leaders: the same figures, with charts, no script."""
    query: MonitoringQuery = call.query
    link = "/monitoring/courts.csv" + (f"?court={query.court}" if query.court else "")
    return Response(
        body=render(_view(call), csv_link=link),
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": PAGE_POLICY,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@route(blueprint, "/oversight.css", public=True, media_type="text/css")
def oversight_css(call: Call) -> Response:
    return Response(
        body=_css(),
        status_code=200,
        headers={
            "Content-Type": "text/css; charset=utf-8",
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
        },
    )
