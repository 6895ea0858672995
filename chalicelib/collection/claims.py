"""Claims of unidentified money (认领) under four eyes: one person proposes the case the money
belongs to, another (finance) confirms it before it moves. Admin, who runs the system, moves
no money.

The confirmation is the proposal's approval chain (``ChainKind.CLAIM`` in the approvals
capability): by default one step, finance, never the person who proposed; a court's tiers may
add an approver above an amount. Each proposal opens a chain of its own (a rejected claim can
be proposed again), named in ``ClaimProposal.approval_id``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from chalicelib.approvals import ApprovalStatus, ChainKind, approval_id
from chalicelib.approvals import Decision as ChainDecision
from chalicelib.cases import CaseStatus
from chalicelib.collection import asking
from chalicelib.collection.errors import (
    AlreadyDecided,
    AmountRefused,
    CaseNotPayable,
    ClaimAlreadySettled,
    ClaimNotFound,
    SamePerson,
)
from chalicelib.collection.models import ClaimProposal, ClaimStatus, Decision, UnidentifiedPayment
from chalicelib.money import Money

if TYPE_CHECKING:
    from chalicelib.approvals import Approval, ApprovalService
    from chalicelib.cases import CaseService
    from chalicelib.clock import Clock
    from chalicelib.collection.decision_store import DecisionStore
    from chalicelib.collection.service import CollectionService
    from chalicelib.identity import Principal


class ClaimDesk:
    """Propose, confirm, reject and return claims; every answer can be asked for again."""

    def __init__(
        self,
        collection: CollectionService,
        decisions: DecisionStore,
        cases: CaseService,
        clock: Clock,
        *,
        approvals: ApprovalService,
    ) -> None:
        self._approvals = approvals
        self._collection = collection
        self._decisions = decisions
        self._cases = cases
        self._clock = clock

    def unidentified(self, reference: str) -> UnidentifiedPayment:
        item = self._collection.store.unidentified(reference)
        if item is None:
            raise ClaimNotFound(f"there is no unidentified payment {reference}")
        return item

    def propose(
        self, reference: str, *, account_number: str, reason: str, by: Principal
    ) -> ClaimProposal:
        """Say which case the money belongs to; nothing moves yet. The same proposal sent
        again (also while the first is in flight) gets the first answer."""
        item = self.unidentified(reference)
        case = self._cases.find_by_account_number(account_number)
        chain_item = f"{reference}.{secrets.token_hex(6)}"
        proposal = ClaimProposal(
            reference=reference,
            case_id=case.case_id,
            court_code=case.court_code,
            account_number=case.account_number,
            reason=reason,
            proposed_by=by.actor,
            proposer_subject=by.subject,
            proposed_at=self._clock.now(),
            approval_id=approval_id(ChainKind.CLAIM, chain_item),
        )
        existing = self._decisions.claim_proposal(reference)
        if existing is not None and existing.status != Decision.REJECTED:
            return self._same_or_refuse(existing, proposal)
        if item.status != ClaimStatus.OPEN:
            raise ClaimAlreadySettled(
                f"this payment was already claimed to case account {item.claimed_account_number}"
            )
        if case.status == CaseStatus.CONCLUDED:
            raise CaseNotPayable(
                f"case {case.case_number} is concluded and takes no money",
                case_status=case.status.value,
            )
        if case.currency != item.currency:
            raise AmountRefused(f"the case keeps {case.currency}; this money is {item.currency}")
        chain = self._approvals.plan_open(
            ChainKind.CLAIM, chain_item, court=case.court_code,
            amount=Money(item.amount, item.currency), requester=by,
            summary=f"{case.case_number} 认领 {reference}",
        )  # fmt: skip
        if self._decisions.add_claim_proposal(proposal, also=chain.writes):
            return proposal
        raced = self._decisions.claim_proposal(reference)
        if raced is None:
            raise AlreadyDecided("another claim of this money changed meanwhile; send it again")
        return self._same_or_refuse(raced, proposal)

    @staticmethod
    def _same_or_refuse(existing: ClaimProposal, proposal: ClaimProposal) -> ClaimProposal:
        same = (existing.account_number, existing.reason, existing.proposer_subject) == (
            proposal.account_number,
            proposal.reason,
            proposal.proposer_subject,
        )
        if same:
            return existing
        raise AlreadyDecided(
            f"a claim of this money to case account {existing.account_number} by "
            f"{existing.proposed_by} is {existing.status.value}",
            account_number=existing.account_number,
        )

    def proposal(self, reference: str) -> ClaimProposal:
        found = self._decisions.claim_proposal(reference)
        if found is None:
            raise ClaimNotFound(f"no claim of {reference} is proposed")
        return found

    def proposals(self, status: Decision, *, limit: int) -> list[ClaimProposal]:
        return self._decisions.claim_proposals(status, limit=limit)

    def confirm(self, reference: str, *, by: Principal) -> UnidentifiedPayment | ClaimProposal:
        """A step of the claim's chain. Its last step (a second person) moves the money to the
        case, once; an earlier step (a court's higher tier) answers the proposal, still waiting
        for the next approver."""
        proposal = self._decide_check(reference, by)
        if proposal.status == Decision.REJECTED:
            raise AlreadyDecided(f"the claim of {reference} was rejected by {proposal.decided_by}")
        chain_writes: tuple[dict[str, Any], ...] = ()
        if proposal.status == Decision.PROPOSED:
            chain = self._approvals.plan_decision(
                proposal.approval_id, ChainDecision.APPROVE, by=by
            )
            if chain.approval.status != ApprovalStatus.APPROVED:
                self._approvals.commit(chain)
                return proposal
            chain_writes = chain.writes
        claimed = self._collection.claim(
            reference,
            account_number=proposal.account_number,
            reason=proposal.reason,
            actor=proposal.proposed_by,
            confirmed_by=by.actor,
            confirmer_subject=by.subject,
        )
        if proposal.status == Decision.PROPOSED:
            decided = proposal.model_copy(
                update={
                    "status": Decision.CONFIRMED,
                    "decided_by": claimed.confirmed_by,
                    "decider_subject": by.subject,
                    "decided_at": claimed.claimed_at,
                }
            )
            # False: a twin request marked it
            self._decisions.decide_claim_proposal(decided, also=chain_writes)
        return claimed

    def reject(self, reference: str, *, by: Principal, reason: str) -> ClaimProposal:
        """A second person turns the proposal down; the money waits for another claim."""
        proposal = self._decide_check(reference, by)
        if proposal.status != Decision.PROPOSED:
            if proposal.status == Decision.REJECTED and proposal.decider_subject == by.subject:
                return proposal
            raise AlreadyDecided(f"the claim of {reference} was already {proposal.status.value}")
        chain = self._approvals.plan_decision(
            proposal.approval_id, ChainDecision.REJECT, by=by, text=reason
        )
        decided = proposal.model_copy(
            update={
                "status": Decision.REJECTED,
                "decided_by": by.actor,
                "decider_subject": by.subject,
                "decided_at": self._clock.now(),
                "decision_reason": reason,
            }
        )
        if self._decisions.decide_claim_proposal(decided, also=chain.writes):
            return decided
        return self.reject(reference, by=by, reason=reason)  # decided meanwhile: answer that

    def return_for_information(self, reference: str, *, by: Principal, question: str) -> Approval:
        """An approver of the step that waits asks the proposer a question; the claim cannot
        be confirmed until the proposer answers."""
        proposal = self._decide_check(reference, by)
        return asking.ask(
            self._approvals, proposal.approval_id, status=proposal.status, by=by, question=question
        )

    def answer(self, reference: str, *, by: Principal, answer: str) -> Approval:
        """The proposer (by token subject) answers; the same step waits again."""
        proposal = self.proposal(reference)
        return asking.answer(
            self._approvals, proposal.approval_id, status=proposal.status, by=by, answer=answer
        )

    def _decide_check(self, reference: str, by: Principal) -> ClaimProposal:
        proposal = self.proposal(reference)
        if by.same_person(proposal.proposer_subject):
            raise SamePerson("you proposed this claim; another person must confirm or reject it")
        return proposal
