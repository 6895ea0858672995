"""Statutory time limits (执行款 time limits) on the working-day calendar.

Every item carries its clock (``start_clock``, ``read_clock``): due, near due, overdue,
deferred with reason and end, met. Other capabilities start and stop clocks through
``DeadlineService`` (``track``, ``met``, ``defer``); the daily job escalates what is overdue
and publishes unclaimed money (公示). Limits come from ``wiring.settings().limits_for(court)``.
"""

from __future__ import annotations

from chalicelib.deadlines.clocks import (
    ClockReading,
    ClockState,
    Deferral,
    ItemClock,
    LimitKind,
    read_clock,
    start_clock,
)
from chalicelib.deadlines.daily import DailyReport, DeadlineService
from chalicelib.deadlines.models import Escalation, Publication, PublicationStatus
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
