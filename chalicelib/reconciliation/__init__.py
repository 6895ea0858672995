"""Reconciliation with the payment rail (对账): each day and currency, the rail's balance
transactions against the ledger, one by one and in total, closed by finance at zero
unexplained difference."""

from __future__ import annotations

from chalicelib.reconciliation.models import (
    DayResult,
    DayStatus,
    DifferenceKind,
    FeeBooking,
    ItemStatus,
    ReconciliationItem,
)
from chalicelib.reconciliation.service import ReconciliationService, day_window
from chalicelib.reconciliation.store import ReconciliationStore

__all__ = [
    "DayResult",
    "DayStatus",
    "DifferenceKind",
    "FeeBooking",
    "ItemStatus",
    "ReconciliationItem",
    "ReconciliationService",
    "ReconciliationStore",
    "day_window",
]
