"""Builds the statutory time limits: item clocks, the daily escalation and 公示."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.approvals import approval_chains
from chalicelib.wiring.shared import cached, clock, dynamodb, notifier, settings, table_name
from chalicelib.wiring.workdays import working_calendar

if TYPE_CHECKING:
    from chalicelib.deadlines.daily import DeadlineService


def deadline_service() -> DeadlineService:
    """Statutory time limits: item clocks, the daily escalation and 公示."""

    def build() -> DeadlineService:
        from chalicelib.collection.store import CollectionStore
        from chalicelib.deadlines.daily import DeadlineService
        from chalicelib.deadlines.store import DeadlineStore

        # imported when built, not with this module: refunds build on collection, whose
        # wiring starts its clocks here
        from chalicelib.wiring.refunds import refund_drafts

        return DeadlineService(
            DeadlineStore(dynamodb(), table_name("OVERSIGHT_TABLE")),
            working_calendar(),
            settings(),
            CollectionStore(dynamodb(), table_name("COLLECTION_TABLE")),
            notifier=notifier(),
            clock=clock(),
            chains=approval_chains(),
            refunds=refund_drafts,
        )

    return cached("deadlines", build)
