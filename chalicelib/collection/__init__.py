"""Online collection: debtors pay a case from their phone, and the money lands in that case once.

Other packages use the names exported here; ``chalicelib.wiring`` builds the service.
"""

from __future__ import annotations

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
from chalicelib.collection.rail import PaymentRail, RailEvent, RailPayment, RailStatus
from chalicelib.collection.service import CollectionService
from chalicelib.collection.store import CollectionStore

__all__ = [
    "AmountRefused",
    "CaseNotPayable",
    "CaseStanding",
    "ClaimAlreadySettled",
    "ClaimNotFound",
    "ClaimStatus",
    "CollectionBusy",
    "CollectionError",
    "CollectionService",
    "CollectionStore",
    "Payment",
    "PaymentConflict",
    "PaymentDeclined",
    "PaymentNotFound",
    "PaymentRail",
    "PaymentStatus",
    "RailEvent",
    "RailPayment",
    "RailStatus",
    "RailUnavailable",
    "ReceiptUnavailable",
    "ReviewItem",
    "SurplusDraft",
    "SweepReport",
    "UnidentifiedPayment",
    "WebhookRejected",
]
