"""Builds refunds (退付): requests, paying back, and the automatic drafts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.approvals import approval_service
from chalicelib.wiring.cases import case_service
from chalicelib.wiring.collection import collection_service, payment_rail
from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.shared import cached, clock, dynamodb, notifier, settings

if TYPE_CHECKING:
    from chalicelib.refunds.drafts import Drafts
    from chalicelib.refunds.service import RefundService


def refund_service() -> RefundService:
    """Refunds (退付): requests, the chain, and paying back by the rail or by bank."""

    def build() -> RefundService:
        from chalicelib.refunds.notices import PayerNotices
        from chalicelib.refunds.payback import Payback
        from chalicelib.refunds.service import RefundService
        from chalicelib.refunds.sources import Sources
        from chalicelib.refunds.store import RefundStore

        store = RefundStore(dynamodb(), settings().refunds_table)
        return RefundService(
            store,
            clock(),
            approvals=approval_service(),
            sources=Sources(collection_service(), case_service()),
            payback=Payback(
                store,
                clock(),
                ledger=ledger_service(),
                rail=payment_rail,
                tell_payer=PayerNotices(case_service(), notifier()),
            ),
        )

    return cached("refunds", build)


def refund_drafts() -> Drafts:
    """Automatic refund drafts from surpluses, concluded cases and unclaimed funds."""

    def build() -> Drafts:
        from chalicelib.refunds.drafts import Drafts
        from chalicelib.refunds.sources import Sources

        config = settings()
        return Drafts(
            refund_service(),
            Sources(collection_service(), case_service()),
            collection=collection_service(),
            cases=case_service(),
            ledger=ledger_service(),
            unidentified_court=config.unidentified_funds_court,
        )

    return cached("refund_drafts", build)
