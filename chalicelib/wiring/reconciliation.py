"""Builds reconciliation with the payment rail, per day and currency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.collection import payment_rail
from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.shared import cached, clock, dynamodb, table_name

if TYPE_CHECKING:
    from chalicelib.reconciliation.service import ReconciliationService


def reconciliation_service() -> ReconciliationService:
    """Reconciliation with the payment rail, per day and currency."""

    def build() -> ReconciliationService:
        from chalicelib.reconciliation.service import ReconciliationService
        from chalicelib.reconciliation.store import ReconciliationStore

        return ReconciliationService(
            payment_rail(),
            ledger_service(),
            ReconciliationStore(dynamodb(), table_name("OVERSIGHT_TABLE")),
            clock(),
        )

    return cached("reconciliation", build)
