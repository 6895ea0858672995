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

from chalicelib.approvals import ChainKind, approval_id
from chalicelib.cases import CaseStatus
from chalicelib.collection.errors import (
    AlreadyDecided,
    AmountRefused,
    CaseNotPayable,
    ClaimAlreadySettled,
    ClaimNotFound,
)
from chalicelib.collection.four_eyes import FourEyesDesk
from chalicelib.collection.models import ClaimProposal, ClaimStatus, Decision, UnidentifiedPayment
from chalicelib.money import Money

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.identity import Principal


class ClaimDesk(FourEyesDesk[ClaimProposal, UnidentifiedPayment]):
    """Propose, confirm, reject and return claims; every answer can be asked for again. A
    rejected claim leaves the money waiting for another claim."""

    named = "the claim of {key}"
    yours = "you proposed this claim"

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
        if item.status == ClaimStatus.REFUNDED:
            raise ClaimAlreadySettled(
                f"this payment is being refunded to its payer ({item.refund_id})"
            )
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

    def _find(self, key: str) -> ClaimProposal:
        return self.proposal(key)

    def _chain(self, entry: ClaimProposal) -> str:
        return entry.approval_id

    def _requester(self, entry: ClaimProposal) -> str:
        return entry.proposer_subject

    def _save_decision(self, decided: ClaimProposal, *, also: tuple[dict[str, Any], ...]) -> bool:
        return self._decisions.decide_claim_proposal(decided, also=also)

    def _move(
        self, entry: ClaimProposal, *, by: Principal
    ) -> tuple[UnidentifiedPayment, str | None, datetime | None]:
        claimed = self._collection.claim(
            entry.reference,
            account_number=entry.account_number,
            reason=entry.reason,
            actor=entry.proposed_by,
            confirmed_by=by.actor,
            confirmer_subject=by.subject,
        )
        return claimed, claimed.confirmed_by, claimed.claimed_at
