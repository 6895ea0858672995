"""The decision steps of collection's two-person entries (counter cash, a claim) under four eyes.

One person enters or proposes; another decides, compared by token subject, through the entry's
own approval chain in the approvals capability. The chain's last step moves the money, once,
and marks the entry confirmed in the same transaction that closes the chain; an earlier step (a
court's higher tier) answers the entry, still waiting for the next approver. An approver of the
waiting step may instead return the entry with a question, and the person who entered it
answers; nothing moves meanwhile, and the entry stays proposed. Every answer can be asked for
again and gets the first answer. Both desks decide here, so the two chains keep one rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from chalicelib.approvals import AlreadyApprovedInChain, ApprovalStatus, NotWaiting
from chalicelib.approvals import Decision as ChainDecision
from chalicelib.collection.errors import AlreadyDecided, SamePerson
from chalicelib.collection.models import CashEntry, ClaimProposal, Decision

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.approvals import Approval, ApprovalService
    from chalicelib.cases import CaseService
    from chalicelib.clock import Clock
    from chalicelib.collection.decision_store import DecisionStore
    from chalicelib.collection.service import CollectionService
    from chalicelib.identity import Principal

Entry = TypeVar("Entry", CashEntry, ClaimProposal)
Moved = TypeVar("Moved")


class FourEyesDesk(ABC, Generic[Entry, Moved]):
    """Confirm, reject, return and answer an entry; a desk names how its entries are found,
    which chain decides them, who entered them and how their money moves."""

    named: ClassVar[str]  # how an answer names the entry, with its ``{key}``
    yours: ClassVar[str]  # what the person who entered it is told, with its ``{key}``

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

    @abstractmethod
    def _find(self, key: str) -> Entry:
        """The entry, or the desk's own not-found error."""

    @abstractmethod
    def _chain(self, entry: Entry) -> str:
        """The id of the approval chain that decides ``entry``."""

    @abstractmethod
    def _requester(self, entry: Entry) -> str:
        """The token subject of the person who entered or proposed ``entry``."""

    @abstractmethod
    def _save_decision(self, decided: Entry, *, also: tuple[dict[str, Any], ...]) -> bool:
        """Store the decision with ``also`` in one transaction, only over an undecided entry;
        False when another request decided it first."""

    @abstractmethod
    def _move(self, entry: Entry, *, by: Principal) -> tuple[Moved, str | None, datetime | None]:
        """Move the entry's money, once however often asked: what moved, the actor who
        confirmed it and when."""

    def _refuse_confirmation(self, entry: Entry, key: str, *, by: Principal) -> None:
        """A desk's own reason to refuse a confirmation before its chain is asked."""

    def confirm(self, key: str, *, by: Principal) -> Moved | Entry:
        """A step of the entry's chain. Its last step (a second person) moves the money, once;
        an earlier step (a court's higher tier) answers the entry, still waiting for the next
        approver."""
        entry = self._decide_check(key, by)
        chain_writes: tuple[dict[str, Any], ...] = ()
        if entry.status == Decision.PROPOSED:
            try:
                chain = self._approvals.plan_decision(
                    self._chain(entry), ChainDecision.APPROVE, by=by
                )
            except (NotWaiting, AlreadyApprovedInChain):
                # A twin request may have decided the entry since it was read: answer as
                # it was decided; an entry still proposed has a real reason to refuse.
                entry = self._find(key)
                if entry.status == Decision.PROPOSED:
                    raise
            else:
                if chain.approval.status != ApprovalStatus.APPROVED:
                    self._approvals.commit(chain)
                    return entry
                chain_writes = chain.writes
        if entry.status == Decision.REJECTED:
            raise AlreadyDecided(f"{self._named(key)} was rejected by {entry.decided_by}")
        self._refuse_confirmation(entry, key, by=by)
        moved, confirmed_by, confirmed_at = self._move(entry, by=by)
        if entry.status == Decision.PROPOSED:  # False: a twin request marked it
            decided = entry.model_copy(
                update={
                    "status": Decision.CONFIRMED,
                    "decided_by": confirmed_by,
                    "decider_subject": by.subject,
                    "decided_at": confirmed_at,
                }
            )
            self._save_decision(decided, also=chain_writes)
        return moved

    def reject(self, key: str, *, by: Principal, reason: str) -> Entry:
        """A second person turns the entry down; nothing moves, and the money or the receipt
        number is free for another entry."""
        entry = self._decide_check(key, by)
        if entry.status != Decision.PROPOSED:
            if entry.status == Decision.REJECTED and entry.decider_subject == by.subject:
                return entry
            raise AlreadyDecided(f"{self._named(key)} was already {entry.status.value}")
        chain = self._approvals.plan_decision(
            self._chain(entry), ChainDecision.REJECT, by=by, text=reason
        )
        decided = entry.model_copy(
            update={
                "status": Decision.REJECTED,
                "decided_by": by.actor,
                "decider_subject": by.subject,
                "decided_at": self._clock.now(),
                "decision_reason": reason,
            }
        )
        if self._save_decision(decided, also=chain.writes):
            return decided
        return self.reject(key, by=by, reason=reason)  # decided meanwhile: answer that

    def return_for_information(self, key: str, *, by: Principal, question: str) -> Approval:
        """An approver of the step that waits asks the person who entered the entry a
        question; it cannot be confirmed until they answer."""
        entry = self._decide_check(key, by)
        _undecided(entry.status)
        return self._approvals.decide(
            self._chain(entry), ChainDecision.RETURN, by=by, text=question
        )

    def answer(self, key: str, *, by: Principal, answer: str) -> Approval:
        """The person who entered the entry (by token subject) answers; the same step waits
        again, from now."""
        entry = self._find(key)
        _undecided(entry.status)
        return self._approvals.answer(self._chain(entry), by=by, answer=answer)

    def _decide_check(self, key: str, by: Principal) -> Entry:
        entry = self._find(key)
        if by.same_person(self._requester(entry)):
            raise SamePerson(
                f"{self.yours.format(key=key)}; another person must confirm or reject it"
            )
        return entry

    def _named(self, key: str) -> str:
        return self.named.format(key=key)


def _undecided(status: Decision) -> None:
    if status != Decision.PROPOSED:
        raise AlreadyDecided(f"this was already {status.value}; its chain takes no question")
