"""What staff ask of a disbursement's chains: an approver's question to whoever asked (the
proposer of the disbursement, the clerk who asked for a deferral, finance who asked for a
staff release; the step waits for the answer), and finance's request to release without the
creditor's face check, decided by the staff-release chain.

``Asking`` is part of ``DisbursementWorkflow``; it uses the workflow's reading and writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.approvals import ChainKind, Decision, approval_id
from chalicelib.identity import Principal
from chalicelib.money import Money
from chalicelib.payouts.changes import advance
from chalicelib.payouts.errors import SamePerson, StateRefused
from chalicelib.payouts.models import (
    Deferral,
    Disbursement,
    DisbursementState,
    StaffReleaseRequest,
)

if TYPE_CHECKING:
    from chalicelib.approvals import ApprovalService, Planned
    from chalicelib.clock import Clock

S = DisbursementState


class Asking:
    if TYPE_CHECKING:
        approvals: ApprovalService
        _clock: Clock

        def get(self, disbursement_id: str) -> Disbursement: ...
        def waiting_deferral(self, d: Disbursement) -> Deferral: ...
        def commit(
            self,
            planned: Planned,
            before: Disbursement,
            after: Disbursement,
            extra: list[dict[str, Any]] | None = None,
        ) -> Disbursement: ...

    # -- a question on any of the disbursement's chains, and its answer ---------------------

    def return_for_information(
        self, disbursement_id: str, *, by: Principal, question: str
    ) -> Disbursement:
        """The approver whose step waits asks the proposer a question; the step waits for
        the answer (nothing is reserved meanwhile)."""
        d = self._proposal(disbursement_id)
        chain = approval_id(ChainKind.DISBURSEMENT, disbursement_id)
        return self._ask(d, chain, by=by, question=question, of=None)

    def answer(self, disbursement_id: str, *, by: Principal, answer: str) -> Disbursement:
        """The proposer answers the question; the same step waits again."""
        d = self._proposal(disbursement_id)
        chain = approval_id(ChainKind.DISBURSEMENT, disbursement_id)
        return self._answer(d, chain, by=by, answer=answer, of=None)

    def return_deferral(
        self, disbursement_id: str, *, by: Principal, question: str
    ) -> Disbursement:
        """An approver of the deferral's step asks the clerk who asked for it a question; the
        disbursement stays approved and not deferred until the chain decides."""
        d = self.get(disbursement_id)
        chain = self.waiting_deferral(d).approval_id
        return self._ask(d, chain, by=by, question=question, of="deferral")

    def answer_deferral(self, disbursement_id: str, *, by: Principal, answer: str) -> Disbursement:
        d = self.get(disbursement_id)
        chain = self.waiting_deferral(d).approval_id
        return self._answer(d, chain, by=by, answer=answer, of="deferral")

    def return_staff_release(
        self, disbursement_id: str, *, by: Principal, question: str
    ) -> Disbursement:
        """An approver of the staff release's step asks finance, who asked for it, a question;
        nothing is sent until the chain decides."""
        d = self.get(disbursement_id)
        chain = self.waiting_staff_release(d, by=by).approval_id
        return self._ask(d, chain, by=by, question=question, of="staff release")

    def answer_staff_release(
        self, disbursement_id: str, *, by: Principal, answer: str
    ) -> Disbursement:
        d = self.get(disbursement_id)
        chain = self.waiting_staff_release(d).approval_id
        return self._answer(d, chain, by=by, answer=answer, of="staff release")

    def _ask(
        self, d: Disbursement, chain: str, *, by: Principal, question: str, of: str | None
    ) -> Disbursement:
        """The step waiting on ``chain`` goes back to its requester with a question; the
        approvals capability checks who may ask (by subject and role)."""
        planned = self.approvals.plan_decision(chain, Decision.RETURN, by=by, text=question)
        action = " ".join(filter(None, (of, "returned for information")))
        changed = advance(d, None, at=self._clock.now(), actor=by.actor, action=action,
                          detail=question)  # fmt: skip
        return self.commit(planned, d, changed)

    def _answer(
        self, d: Disbursement, chain: str, *, by: Principal, answer: str, of: str | None
    ) -> Disbursement:
        """The requester (by subject) answers; the same step of ``chain`` waits again."""
        planned = self.approvals.plan_answer(chain, by=by, answer=answer)
        action = f"{of} question answered" if of else "answered"
        changed = advance(d, None, at=self._clock.now(), actor=by.actor, action=action,
                          detail=answer)  # fmt: skip
        return self.commit(planned, d, changed)

    def _proposal(self, disbursement_id: str) -> Disbursement:
        d = self.get(disbursement_id)
        if d.state != S.PROPOSED:
            raise StateRefused(f"the disbursement is {d.state.value}; its chain is decided")
        return d

    # -- staff release ------------------------------------------------------------------------

    def waiting_staff_release(
        self, d: Disbursement, *, by: Principal | None = None
    ) -> StaffReleaseRequest:
        """The staff release of this attempt that waits for its chain; ``by``, who would
        decide it, must be a second person: neither finance who asked nor the proposer."""
        request = d.staff_release_request
        if d.state != S.APPROVED or request is None or request.attempt != d.attempt:
            raise StateRefused("no staff release was requested for this payout")
        if by is not None and by.subject in (request.subject, d.proposed_by):
            raise SamePerson("a second person decides a staff release")
        return request

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
