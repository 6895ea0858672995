"""The JSON answers of the approval routes (see ``chalicelib.answers``): an approval with its
chain, what waits, and every step taken."""

from __future__ import annotations

from datetime import datetime

from chalicelib.answers import AnswerBody, MoneyShown
from chalicelib.approvals.chains import ChainKind
from chalicelib.approvals.models import Action, ApprovalStatus
from chalicelib.identity.roles import Role


class PersonShown(AnswerBody):
    subject: str
    name: str


class StepShown(AnswerBody):
    role: Role
    title: str
    done: bool


class WaitingFor(AnswerBody):
    role: Role
    title: str


class ApprovalEventShown(AnswerBody):
    at: datetime
    action: Action
    by: PersonShown
    role: Role | None
    step: int | None
    text: str | None


class ApprovalShown(AnswerBody):
    id: str
    kind: ChainKind
    item_id: str
    court: str
    amount: MoneyShown
    summary: str
    status: ApprovalStatus
    requested_by: PersonShown
    steps: list[StepShown]
    waiting_for: WaitingFor | None
    waiting_since: datetime
    due_at: datetime | None
    overdue: bool
    question: str | None
    history: list[ApprovalEventShown]


class AskedShown(AnswerBody):
    """Where a two-person entry's chain stands after a question or an answer."""

    approval_id: str
    item_id: str
    status: ApprovalStatus
    question: str | None
    waiting_for: WaitingFor | None
    waiting_since: datetime
