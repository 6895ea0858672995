"""Reconciliation with the payment rail (对账): each day and currency, the rail's balance
transactions against the ledger, one by one and in total, closed by finance at zero
unexplained difference."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.reconciliation.models import (
    DayResult,
    DayStatus,
    DifferenceKind,
    FeeBooking,
    ItemStatus,
    ReconciliationItem,
)

if TYPE_CHECKING:
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

# Services and stores load when first asked for, so a route that imports this package's models
# does not pay for them at cold start.
_LAZY = {
    "ReconciliationService": "chalicelib.reconciliation.service",
    "day_window": "chalicelib.reconciliation.service",
    "ReconciliationStore": "chalicelib.reconciliation.store",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
