"""A question on a two-person entry's chain (counter cash, a claim) and the requester's answer.

An approver of the step that waits returns the entry with a question; the person who entered
or proposed it (by token subject) answers, and the same step waits again. The approvals
capability checks who may ask and who may answer; nothing moves meanwhile, and the entry
stays proposed. Both desks ask and answer here, so the two chains keep one rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.approvals import Decision as ChainDecision
from chalicelib.collection.errors import AlreadyDecided
from chalicelib.collection.models import Decision

if TYPE_CHECKING:
    from chalicelib.approvals import Approval, ApprovalService
    from chalicelib.identity import Principal


def ask(
    approvals: ApprovalService, chain: str, *, status: Decision, by: Principal, question: str
) -> Approval:
    """The step waiting on ``chain`` goes back to the requester with ``question``."""
    _undecided(status)
    return approvals.decide(chain, ChainDecision.RETURN, by=by, text=question)


def answer(
    approvals: ApprovalService, chain: str, *, status: Decision, by: Principal, answer: str
) -> Approval:
    """The requester answers the question on ``chain``; its step waits again, from now."""
    _undecided(status)
    return approvals.answer(chain, by=by, answer=answer)


def _undecided(status: Decision) -> None:
    if status != Decision.PROPOSED:
        raise AlreadyDecided(f"this was already {status.value}; its chain takes no question")
