"""Statutory time limits (执行款 time limits) on the working-day calendar: the clock each item
carries. Refunds, disbursements and collection start a clock with ``start_clock`` and read it
with ``read_clock``; the limits come from ``wiring.settings().limits_for(court)``."""

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

__all__ = [
    "ClockReading",
    "ClockState",
    "Deferral",
    "ItemClock",
    "LimitKind",
    "read_clock",
    "start_clock",
]
