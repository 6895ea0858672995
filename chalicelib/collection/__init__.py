"""Online collection: debtors pay a case from their phone, and the money lands in that case once.

Other packages use the names exported here; ``chalicelib.wiring`` builds the service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.collection.claims import ClaimDesk
from chalicelib.collection.counter_cash import CounterCashDesk
from chalicelib.collection.errors import (
    AmountRefused,
    CaseNotPayable,
    ClaimAlreadySettled,
    ClaimNotFound,
    CollectionBusy,
    CollectionError,
    PaymentConflict,
    PaymentDeclined,
    PaymentNotFound,
    RailUnavailable,
    ReceiptUnavailable,
    WebhookRejected,
)
from chalicelib.collection.models import (
    CaseStanding,
    ClaimStatus,
    Payment,
    PaymentStatus,
    ReviewItem,
    SurplusDraft,
    SweepReport,
    UnidentifiedPayment,
)
from chalicelib.collection.rail import (
    PaymentRail,
    RailEvent,
    RailPayment,
    RailRefund,
    RailRefundEvent,
    RailStatus,
    RefundStatus,
)

if TYPE_CHECKING:
    from chalicelib.collection.service import CollectionService
    from chalicelib.collection.store import CollectionStore

__all__ = [
    "AmountRefused",
    "CaseNotPayable",
    "CaseStanding",
    "ClaimAlreadySettled",
    "ClaimDesk",
    "ClaimNotFound",
    "ClaimStatus",
    "CollectionBusy",
    "CollectionError",
    "CollectionService",
    "CollectionStore",
    "CounterCashDesk",
    "Payment",
    "PaymentConflict",
    "PaymentDeclined",
    "PaymentNotFound",
    "PaymentRail",
    "PaymentStatus",
    "RailEvent",
    "RailPayment",
    "RailRefund",
    "RailRefundEvent",
    "RailStatus",
    "RailUnavailable",
    "ReceiptUnavailable",
    "RefundStatus",
    "ReviewItem",
    "SurplusDraft",
    "SweepReport",
    "UnidentifiedPayment",
    "WebhookRejected",
]

# The service loads when first asked for, so a route that imports this package's models
# does not pay for the service at cold start.
_LAZY = {
    "CollectionService": "chalicelib.collection.service",
    "CollectionStore": "chalicelib.collection.store",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
