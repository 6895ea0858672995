"""Automatic refund drafts: a surplus collection flagged, a case concluded with money left, and
unidentified funds nobody claimed in time. A draft decides nothing: a clerk submits it to the
chain, which makes the clerk its requester."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.clock import Clock
from chalicelib.problems import ProblemError
from chalicelib.refunds.errors import RefundStateConflict
from chalicelib.refunds.models import Origin, ReasonCode, Refund, SourceKind
from chalicelib.weekdays import add_working_days

if TYPE_CHECKING:
    from chalicelib.cases import CaseService
    from chalicelib.collection import CollectionService
    from chalicelib.ledger import LedgerService
    from chalicelib.refunds.service import RefundService
    from chalicelib.refunds.sources import Sources

log = logging.getLogger(__name__)

BATCH = 100


class Drafts:
    def __init__(
        self,
        refunds: RefundService,
        sources: Sources,
        clock: Clock,
        *,
        collection: CollectionService,
        cases: CaseService,
        ledger: LedgerService,
        unclaimed_after_working_days: int,
        unidentified_court: str | None,
    ) -> None:
        self._refunds = refunds
        self._sources = sources
        self._clock = clock
        self._collection = collection
        self._cases = cases
        self._ledger = ledger
        self._unclaimed_days = unclaimed_after_working_days
        self._unidentified_court = unidentified_court

    def from_surpluses(self) -> list[Refund]:
        """One draft per case that collection flagged as paid beyond what it owes, returning
        the surplus from the payment that made it (as far as that payment reaches)."""
        made = []
        for surplus in self._collection.store.surplus_drafts(limit=BATCH):
            source = None
            for kind in (SourceKind.ONLINE, SourceKind.COUNTER_CASH):
                try:
                    source = self._sources.resolve(kind, surplus.last_payment_id, court=None)
                    break
                except ProblemError:
                    continue
            if source is None:
                log.info("surplus of %s came by a claim; a clerk refunds it", surplus.case_id)
                continue
            draft = self._refunds.draft(
                f"surplus-{surplus.case_id}",
                source,
                surplus.amount,
                ReasonCode.OVERPAYMENT,
                origin=Origin.SURPLUS,
                note="多缴款 (surplus flagged by collection)",
            )
            if draft is not None:
                made.append(draft)
        return made

    def for_concluded_case(self, case_id: str) -> list[Refund]:
        """A concluded case with money left: drafts returning it, newest payment first."""
        from chalicelib.cases.models import CaseStatus
        from chalicelib.collection import PaymentStatus

        case = self._cases.get(case_id)
        if case.status != CaseStatus.CONCLUDED:
            raise RefundStateConflict(
                f"case {case.case_number} is {case.status.value}; money left is refunded once "
                "it is concluded"
            )
        left = self._ledger.balance(case.account_number).available
        made = []
        for payment in self._collection.payments_of_case(case_id):
            if left <= 0:
                break
            if payment.status != PaymentStatus.SUCCEEDED:
                continue
            source = self._sources.resolve(SourceKind.ONLINE, payment.payment_id, court=None)
            draft = self._refunds.draft(
                f"concluded-{case_id}-{payment.payment_id}",
                source,
                left,
                ReasonCode.CASE_CONCLUDED,
                origin=Origin.CONCLUDED,
                note="结案余款 (money left when the case was concluded)",
            )
            if draft is not None:
                made.append(draft)
                left -= draft.amount
        return made

    def from_unclaimed(self) -> list[Refund]:
        """Unidentified funds not claimed within the working days allowed go back to the
        payer; drafted for the court that handles unidentified funds."""
        from chalicelib.collection import ClaimStatus

        if self._unidentified_court is None:
            log.info("no court handles unidentified funds here; no unclaimed refunds drafted")
            return []
        now = self._clock.now()
        made = []
        for item in self._collection.store.unidentified_queue(ClaimStatus.OPEN, limit=BATCH):
            if add_working_days(item.received_at, self._unclaimed_days) > now:
                break  # the queue is oldest first: the rest are younger
            source = self._sources.resolve(
                SourceKind.UNIDENTIFIED, item.reference, court=self._unidentified_court
            )
            draft = self._refunds.draft(
                f"unclaimed-{item.reference}",
                source,
                item.amount,
                ReasonCode.UNIDENTIFIED_FUNDS,
                origin=Origin.UNCLAIMED,
                note=f"不明款逾期未认领 (unclaimed for {self._unclaimed_days} working days)",
            )
            if draft is not None:
                made.append(draft)
        return made

    def sweep(self) -> dict[str, int]:
        return {
            "surplus": len(self.from_surpluses()),
            "unclaimed": len(self.from_unclaimed()),
        }
