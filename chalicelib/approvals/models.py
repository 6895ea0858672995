"""An approval of one item: its frozen chain, where it stands, and every step taken."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.approvals.chains import ChainKind, Step
from chalicelib.identity.roles import Role


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApprovalStatus(StrEnum):
    PENDING = "pending"  # waits for the current step's role
    RETURNED = "returned"  # an approver asked a question; waits for the requester's answer
    APPROVED = "approved"  # every step approved: the owner may move the money
    REJECTED = "rejected"  # final
    CANCELLED = "cancelled"  # final: withdrawn by the requester (or an admin)

    @property
    def final(self) -> bool:
        return self in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.CANCELLED)


class Decision(StrEnum):
    """What an approver can do with the step waiting for them."""

    APPROVE = "approve"
    REJECT = "reject"  # needs a reason
    RETURN = "return"  # for more information: needs a question for the requester


class Action(StrEnum):
    """What one entry of the history records."""

    OPENED = "opened"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


class HistoryEntry(_Frozen):
    """One step taken: who (token subject and name), in which role, when, what and why."""

    at: datetime
    action: Action
    by_subject: str
    by_name: str
    role: Role | None = None  # the role the step needed (decisions only)
    step: int | None = None  # which step of the chain (decisions only), from 0
    text: str | None = None  # the reason, question, answer or note


class Approval(_Frozen):
    """The approval of one item. ``id`` is ``{kind}:{item id}``: an item has one approval."""

    id: str
    kind: ChainKind
    item_id: str = Field(min_length=1, max_length=120)
    court: str = Field(min_length=1, max_length=40)
    amount_fen: int = Field(gt=0)
    currency: str
    summary: str = ""
    requested_by_subject: str
    requested_by_name: str
    steps: tuple[Step, ...]  # the chain as it stood when the item was opened
    next_step: int = 0  # index into steps of the one waiting; len(steps) once approved
    status: ApprovalStatus = ApprovalStatus.PENDING
    version: int = 1
    opened_at: datetime
    waiting_since: datetime  # when the current step (or the requester's answer) began waiting
    history: tuple[HistoryEntry, ...] = ()

    @property
    def current_step(self) -> Step | None:
        if self.status.final or self.next_step >= len(self.steps):
            return None
        return self.steps[self.next_step]

    @property
    def approvers(self) -> frozenset[str]:
        """The subjects who have approved a step of this chain."""
        return frozenset(e.by_subject for e in self.history if e.action == Action.APPROVED)

    @property
    def last_question(self) -> str | None:
        for entry in reversed(self.history):
            if entry.action == Action.RETURNED:
                return entry.text
        return None


def approval_id(kind: ChainKind, item_id: str) -> str:
    return f"{kind.value}:{item_id}"
