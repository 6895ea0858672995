"""Corrections under four eyes: a clerk proposes a transfer between two accounts, and someone
else in finance posts it or turns it down. "Someone else" is decided by the token's subject,
never by a display name, which a user can change."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from chalicelib.clock import Clock
from chalicelib.ledger import postings
from chalicelib.ledger.cache import AccountCache
from chalicelib.ledger.engine import Guard, PostingEngine
from chalicelib.ledger.errors import (
    IdempotencyConflict,
    InvalidTransfer,
    ProposalNotFound,
    ProposalNotOpen,
    SameActor,
)
from chalicelib.ledger.models import CorrectionProposal, ProposalStatus, Transfer
from chalicelib.ledger.store import Cancelled, LedgerStore

_SAME_PROPOSAL = ("debit_account", "credit_account", "amount", "currency", "reason")


class Corrections:
    """Proposals of manual corrections and their decisions."""

    def __init__(
        self, store: LedgerStore, engine: PostingEngine, cache: AccountCache, clock: Clock
    ) -> None:
        self._store = store
        self._engine = engine
        self._cache = cache
        self._clock = clock

    def propose(
        self,
        proposal_id: str,
        *,
        debit_account: str,
        credit_account: str,
        amount: int,
        reason: str,
        proposed_by: str,
        subject: str,
        currency: str = "CNY",
    ) -> CorrectionProposal:
        """A clerk proposes a manual correction; nothing moves until finance posts it.
        ``proposed_by`` names the person in the trail; ``subject`` (the sign-in token's subject)
        is who they are, which four eyes compare: a display name can be changed."""
        if debit_account == credit_account:
            raise InvalidTransfer("a correction moves money between two different accounts")
        self._cache.states_for(sorted({debit_account, credit_account}), currency)  # both exist
        try:
            proposal = CorrectionProposal(
                id=proposal_id,
                debit_account=debit_account,
                credit_account=credit_account,
                amount=amount,
                currency=currency,
                reason=reason,
                proposed_by=proposed_by,
                proposer_subject=subject,
                proposed_at=self._clock.now(),
            )
        except ValueError as exc:
            raise InvalidTransfer(f"the correction is not valid: {exc}") from exc
        if self._store.put_new_proposal(proposal):
            return proposal
        existing = self.proposal(proposal_id)
        if any(
            getattr(existing, f) != getattr(proposal, f)
            for f in (*_SAME_PROPOSAL, "proposer_subject")
        ):
            raise IdempotencyConflict(
                f"proposal id {proposal_id} was already used for a different correction",
                proposal_id=proposal_id,
            )
        return existing

    def proposal(self, proposal_id: str) -> CorrectionProposal:
        found = self._store.proposal(proposal_id)
        if found is None:
            raise ProposalNotFound(f"no correction proposal {proposal_id}")
        return found

    def open_proposals(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[CorrectionProposal], str | None]:
        page = self._store.open_proposals(limit=limit, cursor=cursor)
        return [CorrectionProposal.model_validate(item) for item in page.items], page.cursor

    def post(self, proposal_id: str, *, posted_by: str, subject: str) -> Transfer:
        """Finance posts a proposed correction; the proposer (by token subject) may not post
        their own, whatever name either token carries."""
        proposal = self.proposal(proposal_id)
        if proposal.proposer_subject == subject:
            raise SameActor(f"{posted_by} proposed correction {proposal_id} and may not post it")
        request = postings.correction(proposal, posted_by=posted_by)
        if proposal.status == ProposalStatus.POSTED and proposal.decider_subject == subject:
            return self._engine.get_transfer(request.id)
        if proposal.status != ProposalStatus.OPEN:
            raise ProposalNotOpen(
                f"correction {proposal_id} is already {proposal.status.value} "
                f"by {proposal.decided_by}"
            )
        decided = proposal.model_copy(
            update={
                "status": ProposalStatus.POSTED,
                "decided_by": posted_by,
                "decider_subject": subject,
                "decided_at": self._clock.now(),
                "transfer_id": request.id,
            }
        )
        guard = Guard(self._store.decide_proposal_item(decided), self._decided(proposal_id))
        return self._engine.post(request, [guard])[0]

    def reject(
        self, proposal_id: str, *, rejected_by: str, subject: str, reason: str
    ) -> CorrectionProposal:
        """Finance turns a proposal down, with a reason; nothing is posted. Not the proposer
        (by token subject)."""
        proposal = self.proposal(proposal_id)
        if proposal.proposer_subject == subject:
            raise SameActor(
                f"{rejected_by} proposed correction {proposal_id} and may not decide it"
            )
        decided = proposal.model_copy(
            update={
                "status": ProposalStatus.REJECTED,
                "decided_by": rejected_by,
                "decider_subject": subject,
                "decided_at": self._clock.now(),
                "decision_reason": reason,
            }
        )
        try:
            self._store.commit([self._store.decide_proposal_item(decided)])
        except Cancelled:
            self._decided(proposal_id)()
        return decided

    def _decided(self, proposal_id: str) -> Callable[[], NoReturn]:
        def raise_decided() -> NoReturn:
            current = self.proposal(proposal_id)
            raise ProposalNotOpen(
                f"correction {proposal_id} is already {current.status.value} "
                f"by {current.decided_by}"
            )

        return raise_decided
