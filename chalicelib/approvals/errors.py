"""Errors of the approval chain; each names what the person may do instead."""

from __future__ import annotations

from chalicelib.problems import Conflict, Forbidden, NotFound, ProblemError, ValidationFailed


class ApprovalError(ProblemError):
    """Base of every approval error."""


class ApprovalNotFound(ApprovalError, NotFound):
    slug = "approvals/not-found"
    title = "No such approval"


class RequesterCannotDecide(ApprovalError, Forbidden):
    slug = "approvals/requester-cannot-decide"
    title = "The person who asked may not decide"


class AlreadyApprovedInChain(ApprovalError, Forbidden):
    slug = "approvals/already-approved-in-chain"
    title = "Nobody approves twice in one chain"


class StepNeedsRole(ApprovalError, Forbidden):
    slug = "approvals/step-needs-role"
    title = "This step needs another role"


class NotRequester(ApprovalError, Forbidden):
    slug = "approvals/not-requester"
    title = "Only the person who asked may do this"


class NotWaiting(ApprovalError, Conflict):
    slug = "approvals/not-waiting"
    title = "The approval is not waiting for this"


class ApprovalChanged(ApprovalError, Conflict):
    slug = "approvals/changed"
    title = "Someone else acted on this approval first; reload it"


class ApprovalExists(ApprovalError, Conflict):
    slug = "approvals/exists"
    title = "This item already has an approval with other details"


class DecisionIncomplete(ApprovalError, ValidationFailed):
    slug = "approvals/decision-incomplete"
    title = "The decision needs a reason or a question"


class OwnerItemRefused(ApprovalError, Conflict):
    """The owner's own item in a shared transaction failed its condition; ``reasons`` are the
    cancellation codes of the owner's items, in the order the owner passed them."""

    slug = "approvals/owner-item-refused"
    title = "The item changed while it was being decided; reload it"

    def __init__(self, detail: str, *, reasons: list[str | None]) -> None:
        super().__init__(detail)
        self.reasons = reasons
