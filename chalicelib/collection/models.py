"""Collection's values: payments, a case's standing, receipts, the claim and review queues,
counter cash.

Pure: no boto3, no Stripe. Money is integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


@dataclass(frozen=True)
class Settlement:
    """What settling one succeeded rail payment did."""

    outcome: Literal["posted", "already_posted", "unidentified", "review", "already_reviewed"]
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


class CounterCashEntry(RequestBody):
    """现场交款补录: the clerk's own id for the entry (a retry sends the same one), the case
    account, the amount in fen (or yuan text), the counter receipt's number and when the cash
    was taken."""

    id: EntryId
    account_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")]
    amount: PositiveFen
    receipt_no: Annotated[Line, StringConstraints(max_length=64)]
    received_at: Moment


class ReceiptQuery(RequestBody):
    lang: Literal["zh", "en"] = "zh"


class QueueQuery(RequestBody):
    status: ClaimStatus = ClaimStatus.OPEN
    limit: int = Field(default=50, ge=1, le=200)
