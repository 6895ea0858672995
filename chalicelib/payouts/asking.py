"""What staff ask of a disbursement's chains: an approver's question to the proposer (the
step waits for the answer), and finance's request to release without the creditor's face
check, decided by the staff-release chain.

``Asking`` is part of ``DisbursementWorkflow``; it uses the workflow's reading and writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.approvals import ChainKind, Decision, approval_id
from chalicelib.identity import Principal
from chalicelib.money import Money
from chalicelib.payouts.changes import advance
from chalicelib.payouts.errors import SamePerson, StateRefused
from chalicelib.payouts.models import Disbursement, DisbursementState, StaffReleaseRequest

if TYPE_CHECKING:
    from chalicelib.approvals import ApprovalService, Planned
    from chalicelib.clock import Clock

S = DisbursementState


class Asking:
    if TYPE_CHECKING:
        approvals: ApprovalService
        _clock: Clock

        def get(self, disbursement_id: str) -> Disbursement: ...
        def commit(
            self,
            planned: Planned,
            before: Disbursement,
            after: Disbursement,
            extra: list[dict[str, Any]] | None = None,
        ) -> Disbursement: ...

    def return_for_information(
        self, disbursement_id: str, *, by: Principal, question: str
    ) -> Disbursement:
        """The approver whose step waits asks the proposer a question; the step waits for
        the answer (nothing is reserved meanwhile)."""
        d = self._proposal(disbursement_id)
        planned = self.approvals.plan_decision(
            approval_id(ChainKind.DISBURSEMENT, disbursement_id), Decision.RETURN, by=by,
            text=question,
        )  # fmt: skip
        changed = advance(d, None, at=self._clock.now(), actor=by.actor,
                          action="returned for information", detail=question)  # fmt: skip
        return self.commit(planned, d, changed)

    def answer(self, disbursement_id: str, *, by: Principal, answer: str) -> Disbursement:
        """The proposer answers the question; the same step waits again."""
        d = self._proposal(disbursement_id)
        planned = self.approvals.plan_answer(
            approval_id(ChainKind.DISBURSEMENT, disbursement_id), by=by, answer=answer
        )
        changed = advance(d, None, at=self._clock.now(), actor=by.actor, action="answered",
                          detail=answer)  # fmt: skip
        return self.commit(planned, d, changed)

    def _proposal(self, disbursement_id: str) -> Disbursement:
        d = self.get(disbursement_id)
        if d.state != S.PROPOSED:
            raise StateRefused(f"the disbursement is {d.state.value}; its chain is decided")
        return d

    def request_staff_release(
        self, disbursement_id: str, *, by: Principal, reason: str
    ) -> Disbursement:
        """Finance asks to pay without the creditor's face check; the staff-release chain
        decides, and its last approver (never the one asking) releases."""
        d = self.get(disbursement_id)
        if d.state != S.APPROVED or d.deferral is not None:
            raise StateRefused("only an approved disbursement without a pending deferral")
        if d.staff_release_request is not None and d.staff_release_request.attempt == d.attempt:
            raise StateRefused("a staff release is already waiting for its approval")
        if by.subject == d.proposed_by:
            raise SamePerson("the proposer cannot release the disbursement")
        now = self._clock.now()
        item_id = f"{d.disbursement_id}-release-{len(d.trail)}"
        planned = self.approvals.plan_open(
            ChainKind.STAFF_RELEASE, item_id, court=d.court_code,
            amount=Money(d.amount, d.currency), requester=by,
            summary=f"{d.case_number} {d.creditor_name}: {reason}",
        )  # fmt: skip
        request = StaffReleaseRequest(
            subject=by.subject, actor=by.actor, at=now, reason=reason, attempt=d.attempt,
            approval_id=approval_id(ChainKind.STAFF_RELEASE, item_id),
        )  # fmt: skip
        changed = advance(d, None, at=now, actor=by.actor, action="staff release requested",
                          detail=reason, staff_release_request=request)  # fmt: skip
        return self.commit(planned, d, changed)
