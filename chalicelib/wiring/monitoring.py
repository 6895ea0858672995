"""Builds central monitoring (集中监管) across the courts this deployment serves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.cases import case_service
from chalicelib.wiring.deadlines import deadline_service
from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.shared import cached, dynamodb, settings, table_name
from chalicelib.wiring.workdays import working_calendar

if TYPE_CHECKING:
    from chalicelib.monitoring.figures import MonitoringService


def monitoring_service() -> MonitoringService:
    """Central monitoring (集中监管) across the courts this deployment serves."""

    def build() -> MonitoringService:
        from chalicelib.collection.store import CollectionStore
        from chalicelib.monitoring.figures import MonitoringService
        from chalicelib.reconciliation.store import ReconciliationStore

        return MonitoringService(
            cases=case_service(),
            ledger=ledger_service(),
            deadlines=deadline_service(),
            queue=CollectionStore(dynamodb(), table_name("COLLECTION_TABLE")),
            reconciliation=ReconciliationStore(dynamodb(), table_name("OVERSIGHT_TABLE")),
            calendar=working_calendar(),
            settings=settings(),
        )

    return cached("monitoring", build)
