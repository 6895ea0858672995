"""A refund (退付): what it returns, why, where it stands, its attempts and its history.

Pure: no boto3, no Stripe. Money is integer fen.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from chalicelib.approvals import Decision
from chalicelib.bodies import Reason, RequestBody
from chalicelib.money import PositiveFen


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class RefundState(StrEnum):
    DRAFT = "draft"  # asked for or drafted automatically; nothing decided, nothing reserved
    SUBMITTED = "submitted"  # in the approval chain
    RETURNED = "returned"  # an approver asked for more information
    APPROVED = "approved"  # the chain approved: the money is (being) reserved
    REJECTED = "rejected"  # final
    PROCESSING = "processing"  # sent to the rail, or paid back by bank and awaiting confirmation
    PAID = "paid"  # final: the payer has the money back
    FAILED = "failed"  # the rail or bank did not pay; the reservation is released; reissue
    CANCELLED = "cancelled"  # final


# Every allowed change of state; anything else is refused and stores nothing.
ALLOWED: dict[RefundState, frozenset[RefundState]] = {
    RefundState.DRAFT: frozenset({RefundState.SUBMITTED, RefundState.CANCELLED}),
    RefundState.SUBMITTED: frozenset(
        {
            RefundState.SUBMITTED,  # one step of several approved
            RefundState.RETURNED,
            RefundState.APPROVED,
            RefundState.REJECTED,
            RefundState.CANCELLED,
        }
    ),
    RefundState.RETURNED: frozenset({RefundState.SUBMITTED, RefundState.CANCELLED}),
    RefundState.APPROVED: frozenset(
        {RefundState.PROCESSING, RefundState.FAILED, RefundState.CANCELLED}
    ),
    RefundState.PROCESSING: frozenset({RefundState.PAID, RefundState.FAILED}),
    RefundState.FAILED: frozenset({RefundState.APPROVED, RefundState.CANCELLED}),
    RefundState.REJECTED: frozenset(),
    RefundState.PAID: frozenset(),
    RefundState.CANCELLED: frozenset(),
}
# States in which the refund holds part of its payment (counted against what was paid).
HOLDING = frozenset({RefundState.APPROVED, RefundState.PROCESSING, RefundState.PAID})


class ReasonCode(StrEnum):
    OVERPAYMENT = "overpayment"  # 多缴
    DUPLICATE_PAYMENT = "duplicate_payment"  # 重复缴款
    PAID_BY_MISTAKE = "paid_by_mistake"  # 错缴
    CASE_CONCLUDED = "case_concluded"  # 结案余款
    UNIDENTIFIED_FUNDS = "unidentified_funds"  # 不明款逾期未认领
    COURT_ORDER = "court_order"  # 法院裁定
    OTHER = "other"  # needs a text


class SourceKind(StrEnum):
    """The money a refund returns, and so the way it goes back."""

    ONLINE = "online"  # a payment through the rail: refunded through the rail
    COUNTER_CASH = "counter_cash"  # cash at the counter: paid back by bank, recorded by finance
    UNIDENTIFIED = "unidentified"  # 不明款 that reached the rail with no case: through the rail


class Origin(StrEnum):
    CLERK = "clerk"
    SURPLUS = "surplus"  # collection flagged a surplus on the case
    CONCLUDED = "concluded"  # the case was concluded with money left
    UNCLAIMED = "unclaimed"  # unidentified funds not claimed within the working days allowed


class RefundSource(_Frozen):
    """What is returned: one payment (or unidentified item) and the account it sits in."""

    kind: SourceKind
    reference: str  # payment id, counter-cash transfer id, or unidentified reference
    paid: int  # what that payment brought in: the most its refunds may return
    currency: str
    court: str
    ledger_account: str  # the case account number, or the unidentified-funds account
    case_id: str | None = None
    case_number: str | None = None
    rail_reference: str | None = None  # the rail's payment reference (online, unidentified)
    received_at: datetime


class Attempt(_Frozen):
    """One try at paying the refund back. A failed try is kept; a reissue is a new one."""

    number: int
    reservation_id: str  # the pending ledger transfer that holds the money
    rail_key: str | None = None  # the idempotency key sent to the rail, recorded before sending
    rail_reference: str | None = None
    bank_reference: str | None = None  # counter cash: the bank transfer's reference
    recorded_by: str | None = None  # counter cash: who recorded the bank transfer (subject)
    confirmed_by: str | None = None  # counter cash: the second person (subject)
    started_at: datetime
    sent_at: datetime | None = None
    finished_at: datetime | None = None
    failure: str | None = None


class RefundEvent(_Frozen):
    """One line of the refund's history: who moved it to which state, when and why."""

    at: datetime
    state: RefundState
    by_subject: str
    by_name: str
    note: str | None = None


class Refund(_Frozen):
    refund_id: str
    source: RefundSource
    amount: int = Field(gt=0)
    currency: str
    reason_code: ReasonCode
    reason_text: str | None = None
    note: str | None = None
    origin: Origin
    state: RefundState
    request_digest: str | None = None  # what was asked, when requested with an Idempotency-Key
    version: int = 1
    created_at: datetime
    updated_at: datetime
    attempts: tuple[Attempt, ...] = ()
    history: tuple[RefundEvent, ...] = ()

    @property
    def attempt(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def failure(self) -> str | None:
        attempt = self.attempt
        return attempt.failure if attempt and self.state == RefundState.FAILED else None


# -- request bodies ----------------------------------------------------------------------------

Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9:._\-]{0,127}$")]
Court = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class RequestRefund(RequestBody):
    """A clerk's refund request: the payment it returns (all or part), why, and a note.
    ``court`` is needed only for unidentified funds, which have no case to name one."""

    source_kind: SourceKind
    source_reference: Reference
    amount: PositiveFen
    reason_code: ReasonCode
    reason_text: Reason | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    court: Court | None = None

    @model_validator(mode="after")
    def _other_needs_text(self) -> RequestRefund:
        if self.reason_code == ReasonCode.OTHER and not self.reason_text:
            raise ValueError("the reason code 'other' needs a reason_text")
        if self.source_kind == SourceKind.UNIDENTIFIED and not self.court:
            raise ValueError("a refund of unidentified funds names the court deciding it")
        return self


class DecideRefund(RequestBody):
    """An approver's decision on the step waiting; a reject needs a reason, a return a
    question (in ``text``)."""

    decision: Decision
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class AnswerReturn(RequestBody):
    answer: Reason


class CancelRefund(RequestBody):
    reason: Reason


def bank_reference_key(reference: str) -> str:
    """One bank transfer, however it was typed: full-width characters (ＩＣＢＣ), spaces around
    it and letter case do not make another reference (``ICBC-1a`` is ``icbc-1A``)."""
    return unicodedata.normalize("NFKC", reference).strip().upper()


def _bank_reference_typed(value: Any) -> Any:
    return bank_reference_key(value) if isinstance(value, str) else value


class BankPayment(RequestBody):
    """Counter cash paid back by bank transfer: the bank's reference for it."""

    bank_reference: Annotated[
        str,
        BeforeValidator(_bank_reference_typed),
        StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9\-_/]{4,64}$"),
    ]


class BankFailure(RequestBody):
    reason: Reason


class QueueQuery(RequestBody):
    court: Court
    state: RefundState = RefundState.SUBMITTED
    limit: int = Field(default=50, ge=1, le=200)
