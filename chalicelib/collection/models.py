"""Collection's values: payments, a case's standing, receipts, the claim and review queues,
counter cash.

Pure: no boto3, no Stripe. Money is integer fen.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from chalicelib.bodies import Line, Moment, Reason, RequestBody
from chalicelib.money import PositiveFen

# Receipts show, and are numbered by, the court's time: China has one zone and no summer time.
CHINA_TIME = timezone(timedelta(hours=8), "CST")


class PaymentStatus(StrEnum):
    """Our record of one payment attempt. ``succeeded`` is final; the others follow the rail."""

    CREATED = "created"  # recorded; the rail has not been asked yet
    AWAITING_METHOD = "awaiting_method"  # the rail holds the payment; the payer enters a card
    REQUIRES_ACTION = "requires_action"  # the payer must authenticate
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def display(self) -> str:
        """What the payer sees: processing, paid or failed (or still to pay)."""
        return _DISPLAY[self]


_DISPLAY = {
    PaymentStatus.CREATED: "unpaid",
    PaymentStatus.AWAITING_METHOD: "unpaid",
    PaymentStatus.REQUIRES_ACTION: "processing",
    PaymentStatus.PROCESSING: "processing",
    PaymentStatus.SUCCEEDED: "paid",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.CANCELED: "failed",
}
OPEN_STATUSES = frozenset(
    {
        PaymentStatus.CREATED,
        PaymentStatus.AWAITING_METHOD,
        PaymentStatus.REQUIRES_ACTION,
        PaymentStatus.PROCESSING,
    }
)


class CaseSnapshot(BaseModel):
    """What a payment keeps of its case: public facts only, never the parties."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    case_number: str
    court_code: str
    court_name: str
    account_number: str
    adjudicated_amount: int
    currency: str


class Payment(BaseModel):
    """One attempt to pay into a case account through the rail."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    payment_id: str
    case: CaseSnapshot
    amount: int
    currency: str
    status: PaymentStatus
    rail: str
    created_at: datetime
    updated_at: datetime
    accepts_surplus: bool = False
    rail_reference: str | None = None
    failure_message: str | None = None
    paid_at: datetime | None = None
    amount_received: int | None = None
    receipt_number: str | None = None
    transfer_id: str | None = None


class CaseStanding(BaseModel):
    """What has been paid into a case (online, claimed from unidentified money, or as cash at
    the counter) and what remains. ``version`` guards updates."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    paid: int = 0
    payments: int = 0
    version: int = 0
    last_paid_at: datetime | None = None
    paid_in_full_at: datetime | None = None

    def remaining(self, owed: int) -> int:
        return max(owed - self.paid, 0)

    def surplus(self, owed: int) -> int:
        return max(self.paid - owed, 0)


class SurplusDraft(BaseModel):
    """A case paid beyond what it owes: the excess, offered as a draft refund for the refunds
    workflow to pick up (it decides, approves and pays; collection only flags)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    account_number: str
    amount: int
    currency: str
    status: Literal["draft"] = "draft"
    reason: str = "overpaid"
    last_payment_id: str
    updated_at: datetime


class ClaimStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    # An approved refund returns it to its payer: not claimable, so the same money cannot go
    # both to a case and back; open again only if that refund is cancelled.
    REFUNDED = "refunded"


class UnidentifiedPayment(BaseModel):
    """不明款: money that reached clearing with no recognisable case; posted to the
    unidentified-funds account and waiting to be claimed (认领)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    reference: str
    rail: str
    amount: int
    currency: str
    received_at: datetime
    status: ClaimStatus
    why: str
    stated_account_number: str | None = None
    receipt_transfer_id: str
    claimed_to_case: str | None = None
    claimed_account_number: str | None = None
    claimed_by: str | None = None
    claim_reason: str | None = None
    claimed_at: datetime | None = None
    claim_transfer_id: str | None = None
    confirmed_by: str | None = None
    confirmer_subject: str | None = None
    refund_id: str | None = None  # the refund holding it (status refunded)


class ReviewItem(BaseModel):
    """A rail payment that cannot be posted as it is (another currency): nothing was posted;
    finance decides (usually a refund at the rail)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    reference: str
    rail: str
    amount: int
    currency: str
    received_at: datetime
    why: str
    payment_id: str | None = None


class MalformedEventRecord(BaseModel):
    """A signed rail event whose shape collection does not act on (an amount as text, no
    currency, metadata as a list): acknowledged so the rail stops retrying, never posted, and
    kept with the start of its body for finance to look into."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    key: str
    rail: str
    why: str
    received_at: datetime
    body_start: str


class CounterCash(BaseModel):
    """现场交款补录: cash a clerk took at the counter, posted to the case account and counted
    toward the case. Kept under its ledger transfer's id, which lets it count only once."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    transfer_id: str
    case_id: str
    account_number: str
    amount: int
    currency: str
    receipt_no: str
    received_at: datetime
    entered_by: str
    counted_at: datetime
    confirmed_by: str | None = None


class Decision(StrEnum):
    """Where a two-person entry stands: proposed by one person, decided by another."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class CashEntry(BaseModel):
    """现场交款补录 as entered: a clerk records cash taken at the counter; it moves nothing
    until another person (finance) confirms it, and then posts under ``id`` once."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    case_id: str
    court_code: str
    account_number: str
    amount: int
    currency: str
    receipt_no: str
    received_at: datetime
    entered_by: str
    entered_by_subject: str
    entered_at: datetime
    status: Decision = Decision.PROPOSED
    decided_by: str | None = None
    decider_subject: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

    def same_entry(self, other: CashEntry) -> bool:
        """Is ``other`` the same entry sent again (by the same person)?"""
        fields = ("account_number", "amount", "receipt_no", "received_at", "entered_by_subject")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


class ClaimProposal(BaseModel):
    """认领 as proposed: the case one person says unidentified money belongs to, and why; the
    money moves when another person (finance) confirms it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    reference: str
    case_id: str
    court_code: str
    account_number: str
    reason: str
    proposed_by: str
    proposer_subject: str
    proposed_at: datetime
    approval_id: str  # the approval chain that decides this proposal
    status: Decision = Decision.PROPOSED
    decided_by: str | None = None
    decider_subject: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None


class Outcome(StrEnum):
    """What one rail notice or one settlement did, as the webhook answer and the event record
    name it."""

    POSTED = "posted"  # posted to its case and counted
    ALREADY_POSTED = "already_posted"  # this rail payment was posted before: nothing moved
    UNIDENTIFIED = "unidentified"  # posted to unidentified funds and queued for a claim
    REVIEW = "review"  # held for finance, nothing posted
    ALREADY_REVIEWED = "already_reviewed"
    FOLLOWED = "followed"  # not succeeded: our payment's status follows the rail's
    UNKNOWN_PAYMENT = "unknown_payment"  # the rail does not know it, or we have no payment
    OTHER_REFERENCE = "other_reference"  # names our payment, which holds another intent
    IGNORED = "ignored"  # an event kind collection does not act on
    DUPLICATE = "duplicate"  # an event seen before
    MALFORMED = "malformed"  # signed, of a shape not acted on: kept for review


@dataclass(frozen=True)
class Settlement:
    """What settling one succeeded rail payment did."""

    outcome: Outcome
    payment: Payment | None = None


@dataclass(frozen=True)
class SweepReport:
    examined: int
    posted: int
    unidentified: int
    review: int
    failed: int
    notices_sent: int


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"


class Notice(BaseModel):
    """A notification owed to case parties, written in the same transaction as the payment
    that caused it, and handed to the notifier afterwards (by the request or the sweeper)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    key: str
    kind: str
    case_id: str
    created_at: datetime
    # An arrival's fen and the case's total with it, kept so a later send tells of that arrival
    amount: int | None = None
    paid: int | None = None
    status: NoticeStatus = NoticeStatus.PENDING
    sent_to: tuple[str, ...] = ()  # "channel:address" of each recipient told so far
    sent_at: datetime | None = None


# -- request bodies ----------------------------------------------------------------------------

Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,255}$")]
# The shape of a ledger transfer id: a staff entry's id becomes its transfer's id.
EntryId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9:._\-]{0,127}$")]


class StartPayment(RequestBody):
    """The payer's choice: an amount in fen (or yuan text), and whether a surplus is meant."""

    amount: PositiveFen
    accept_surplus: bool = False


class CardConfirmation(RequestBody):
    """The one-time card token the rail's browser library returned."""

    card_token: Token


class ClaimRequest(RequestBody):
    """认领: the case the money belongs to and why staff are sure."""

    account_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
    reason: Reason


def _text_only(value: object) -> object:
    # pydantic reads a number as seconds since 1970: a time must be written out, with its zone.
    if not isinstance(value, str):
        raise ValueError("give the time as ISO 8601 text with a zone, e.g. 2026-11-02T09:30+08:00")
    return value


def _receipt_number(value: object) -> object:
    """NFKC (full-width digits and letters as typed on a Chinese keyboard), inner runs of
    space as one, so one paper receipt is one number."""
    if not isinstance(value, str):
        return value
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise ValueError("a receipt number has no control characters")
    return text


# The number printed on the paper receipt the court handed the payer (收款收据号).
ReceiptNumber = Annotated[
    str, BeforeValidator(_receipt_number), StringConstraints(min_length=1, max_length=64)
]


class CounterCashEntry(RequestBody):
    """现场交款补录: the clerk's own id for the entry (a retry sends the same one), the case
    account, the amount in fen (or yuan text), the paper receipt's number and when the cash
    was taken."""

    id: EntryId
    account_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")]
    amount: PositiveFen
    receipt_no: Annotated[Line, BeforeValidator(_receipt_number), StringConstraints(max_length=64)]
    received_at: Annotated[Moment, BeforeValidator(_text_only)]


class RejectEntry(RequestBody):
    """Why finance turns down a counter-cash entry or a claim."""

    reason: Reason


class DecisionQuery(RequestBody):
    status: Decision = Decision.PROPOSED
    limit: int = Field(default=50, ge=1, le=200)


class ReceiptQuery(RequestBody):
    lang: Literal["zh", "en"] = "zh"


class QueueQuery(RequestBody):
    status: ClaimStatus = ClaimStatus.OPEN
    limit: int = Field(default=50, ge=1, le=200)
