"""Automatic refund drafts: a surplus collection flagged, a case concluded with money left, and
unidentified funds nobody claimed in time (asked for by the deadline job once their published
period, 公示, ended). A draft decides nothing: a clerk submits it to the chain, which makes the
clerk its requester."""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING

from chalicelib.problems import ProblemError
from chalicelib.refunds.errors import RefundNotFound, RefundStateConflict
from chalicelib.refunds.models import Origin, ReasonCode, Refund, RefundState, SourceKind

if TYPE_CHECKING:
    from chalicelib.cases import CaseService
    from chalicelib.collection import CollectionService
    from chalicelib.ledger import LedgerService
    from chalicelib.refunds.service import RefundService
    from chalicelib.refunds.sources import Sources

log = logging.getLogger(__name__)

BATCH = 100
# A refund in these states returns money the case account still shows as available (approval
# reserves it; paid takes it out of the balance), so a later draft leaves room for it.
UNRESERVED = frozenset({RefundState.DRAFT, RefundState.SUBMITTED, RefundState.RETURNED,
                        RefundState.FAILED})  # fmt: skip
ENDED_UNPAID = (RefundState.CANCELLED, RefundState.REJECTED)  # the money stays where it was


class Drafts:
    def __init__(
        self,
        refunds: RefundService,
        sources: Sources,
        *,
        collection: CollectionService,
        cases: CaseService,
        ledger: LedgerService,
        unidentified_court: str | None,
    ) -> None:
        self._refunds = refunds
        self._sources = sources
        self._collection = collection
        self._cases = cases
        self._ledger = ledger
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
            refund_id = f"concluded-{case_id}-{payment.payment_id}"
            try:
                drafted = self._refunds.get(refund_id)
            except RefundNotFound:
                pass
            else:  # drafted by an earlier run: what it will still take counts against the rest
                if drafted.state in UNRESERVED:
                    left -= drafted.amount
                continue
            source = self._sources.resolve(SourceKind.ONLINE, payment.payment_id, court=None)
            draft = self._refunds.draft(
                refund_id,
                source,
                left,
                ReasonCode.CASE_CONCLUDED,
                origin=Origin.CONCLUDED,
                note="结案余款 (money left when the case was concluded)",
            )
            if draft is not None:
                made.append(draft)
                left -= draft.amount
        if left > 0:
            log.warning(
                "concluded case %s holds %d fen that no online payment's draft covers "
                "(counter cash or a claim); a clerk requests its refund",
                case_id,
                left,
            )
        return made

    def draft_unclaimed(self, reference: str) -> str | None:
        """The refund draft returning unidentified funds to their payer, for the court that
        handles unidentified funds: its id, whether made now or before (the ids are derived
        from the payment's reference, so asking again makes no second draft). A draft that was
        cancelled or rejected blocks no new one: the next is drafted under the next id
        (``unclaimed-{reference}-2`` ...). None when no court handles unidentified funds, or the
        money was claimed or refunded meanwhile.

        When: the deadline job asks once the money was not claimed within the claim limit
        (working days on the PRC calendar) and its published period (公示) ended."""
        if self._unidentified_court is None:
            log.info("no court handles unidentified funds here; no unclaimed refunds drafted")
            return None
        for n in itertools.count(1):
            refund_id = f"unclaimed-{reference}" + ("" if n == 1 else f"-{n}")
            try:
                if self._refunds.get(refund_id).state not in ENDED_UNPAID:
                    return refund_id
            except RefundNotFound:
                break
        try:
            source = self._sources.resolve(
                SourceKind.UNIDENTIFIED, reference, court=self._unidentified_court
            )
        except ProblemError:
            log.info("unclaimed %s is no longer open; no refund drafted", reference)
            return None
        draft = self._refunds.draft(
            refund_id,
            source,
            source.paid,
            ReasonCode.UNIDENTIFIED_FUNDS,
            origin=Origin.UNCLAIMED,
            note="不明款公示期满未认领 (unclaimed after its published period)",
        )
        return None if draft is None else draft.refund_id

    def returning(self, refund_id: str) -> bool:
        """Whether the refund still returns (or returned) its money: False once it was
        cancelled or rejected, which leaves the money where it was."""
        try:
            return self._refunds.get(refund_id).state not in ENDED_UNPAID
        except RefundNotFound:
            return False

    def from_concluded_cases(self) -> list[Refund]:
        """Drafts for each case concluded since the last sweep that still holds money. A case
        leaves the queue once its drafts are made; their ids come from the case and payment,
        so a sweep again after a crash makes no second draft. A case whose drafts cannot be
        made goes to the back of the queue, and a later sweep tries again."""
        from chalicelib.cases.models import CaseStatus

        made = []
        for case_id in self._cases.concluded_to_follow(limit=BATCH):
            case = self._cases.get(case_id)
            left = self._ledger.balance(case.account_number).available
            if case.status == CaseStatus.CONCLUDED and left > 0:
                try:
                    made += self.for_concluded_case(case_id)
                except ProblemError as problem:
                    log.warning("money left in concluded case %s not drafted: %s", case_id, problem)
                    self._cases.concluded_later(case_id)  # behind the others, not before them
                    continue
            self._cases.concluded_followed(case_id)
        return made

    def sweep(self) -> dict[str, int]:
        return {
            "surplus": len(self.from_surpluses()),
            "concluded": len(self.from_concluded_cases()),
        }
