"""Online collection: debtors pay a case from their phone, and the money lands in that case once.

Other packages use ``collection_service()`` and the names exported here.
"""

from __future__ import annotations

from chalicelib import wiring
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
    "collection_service",
]


def collection_service() -> CollectionService:
    """The process-wide collection service, built on first use from the wiring's adapters."""

    def build() -> CollectionService:
        from chalicelib.cases import case_service
        from chalicelib.ledger import ledger_service

        return CollectionService(
            CollectionStore(wiring.dynamodb(), wiring.table_name("COLLECTION_TABLE")),
            wiring.payment_rail,
            wiring.clock(),
            cases=case_service(),
            ledger=ledger_service(),
            notifier=wiring.notifier(),
        )

    return wiring.cached("collection", build)
