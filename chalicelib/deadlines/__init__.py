"""Statutory time limits (执行款 time limits) on the working-day calendar.

Every item carries its clock (``start_clock``, ``read_clock``): due, near due, overdue,
deferred with reason and end, met. Other capabilities start and stop clocks through
``DeadlineService`` (``track``, ``met``, ``defer``); the daily job escalates what is overdue
and publishes unclaimed money (公示). Limits come from ``wiring.settings().limits_for(court)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.deadlines.clocks import (
    ClockReading,
    ClockState,
    Deferral,
    ItemClock,
    LimitKind,
    read_clock,
    start_clock,
)
from chalicelib.deadlines.models import Escalation, Publication, PublicationStatus

if TYPE_CHECKING:
    from chalicelib.deadlines.daily import DailyReport, DeadlineService
    from chalicelib.deadlines.store import DeadlineStore

__all__ = [
    "ClockReading",
    "ClockState",
    "DailyReport",
    "DeadlineService",
    "DeadlineStore",
    "Deferral",
    "Escalation",
    "ItemClock",
    "LimitKind",
    "Publication",
    "PublicationStatus",
    "read_clock",
    "start_clock",
]

# Services and stores load when first asked for, so a route that imports this package's models
# does not pay for them at cold start.
_LAZY = {
    "DailyReport": "chalicelib.deadlines.daily",
    "DeadlineService": "chalicelib.deadlines.daily",
    "DeadlineStore": "chalicelib.deadlines.store",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
