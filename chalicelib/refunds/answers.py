"""The JSON answers of the refund routes (see ``chalicelib.answers``): a refund as staff see it,
its history with its approval, what the payer's receipt shows, and the rail's webhook receipt."""

from __future__ import annotations

from datetime import datetime

from chalicelib.answers import AnswerBody, MoneyShown
from chalicelib.approvals.answers import ApprovalShown, PersonShown
from chalicelib.refunds.models import Origin, ReasonCode, RefundState, SourceKind


class SourceShown(AnswerBody):
    kind: SourceKind
    reference: str
    paid: MoneyShown
    court: str
    case_id: str | None
    case_number: str | None
    account: str


class AttemptShown(AnswerBody):
    number: int
    reservation: str
    rail_reference: str | None
    bank_reference: str | None
    recorded_by: str | None
    confirmed_by: str | None
    sent_at: datetime | None
    finished_at: datetime | None
    failure: str | None


class RefundShown(AnswerBody):
    id: str
    state: RefundState
    amount: MoneyShown
    reason_code: ReasonCode
    reason_text: str | None
    note: str | None
    origin: Origin
    failure: str | None
    source: SourceShown
    created_at: datetime
    updated_at: datetime
    attempts: list[AttemptShown]


class RefundEventShown(AnswerBody):
    at: datetime
    state: RefundState
    by: PersonShown
    note: str | None


class RefundHistory(AnswerBody):
    refund: RefundShown
    history: list[RefundEventShown]
    approval: ApprovalShown | None


class RefundShownToPayer(AnswerBody):
    """What the payer's receipt shows: amount, status and when; no staff, no notes."""

    amount: MoneyShown
    status: RefundState
    updated_at: datetime


class RefundEventReceived(AnswerBody):
    """The rail's notice was taken: its id and what became of it."""

    event: str
    outcome: str
