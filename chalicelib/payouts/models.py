"""Disbursements (案款发放): the record, its states and the changes allowed between them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.cases import FundType


class DisbursementState(StrEnum):
    """Where a disbursement stands. The steps that move money are recorded one at a time
    (released -> sending -> sent -> paid), so a crash between any two leaves a state the
    sweeper knows how to finish."""

    PROPOSED = "proposed"  # waiting for the approval chain
    APPROVED = "approved"  # chain complete, money reserved, waiting for its release
    DEFERRED = "deferred"  # 延缓发放: approved deferral, money stays reserved
    RELEASED = "released"  # a valid release is recorded (face check or staff with 2nd approver)
    SENDING = "sending"  # the rail's idempotency key is recorded; the call may have happened
    SENT = "sent"  # the rail answered with its payout reference
    PAID = "paid"  # the rail confirmed; the reservation is posted
    FAILED = "failed"  # the rail failed it; the reservation is released back to the case
    RETURNED = "returned"  # the bank sent the money back; it is in the case account again
    REJECTED = "rejected"  # final
    CANCELLED = "cancelled"  # final
    EXPIRED = "expired"  # the reservation ran out before the money was released; final


S = DisbursementState
ALLOWED_CHANGES: dict[DisbursementState, frozenset[DisbursementState]] = {
    S.PROPOSED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.DEFERRED, S.RELEASED, S.CANCELLED, S.EXPIRED}),
    S.DEFERRED: frozenset({S.APPROVED, S.CANCELLED, S.EXPIRED}),
    S.RELEASED: frozenset({S.SENDING}),
    S.SENDING: frozenset({S.SENT, S.FAILED}),  # failed: the rail refused, nothing was sent
    S.SENT: frozenset({S.PAID, S.FAILED, S.RETURNED}),
    S.PAID: frozenset({S.RETURNED}),
    S.FAILED: frozenset({S.APPROVED}),  # reissue: reserved again, released again
    S.RETURNED: frozenset({S.APPROVED}),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
# States in which the money is reserved for this disbursement and not yet settled.
RESERVED_STATES = frozenset({S.APPROVED, S.DEFERRED, S.RELEASED, S.SENDING, S.SENT})
FINAL_STATES = frozenset({S.PAID, S.REJECTED, S.CANCELLED, S.EXPIRED})
# States in which a disbursement is on its way to the account it was proposed with: the
# creditor's receiving account may not change meanwhile (failed and returned ones reissue only
# to the account confirmed now).
UNDER_WAY_STATES = frozenset({S.PROPOSED, *RESERVED_STATES})


def can_change(current: DisbursementState, target: DisbursementState) -> bool:
    return target in ALLOWED_CHANGES[current]


class ReleaseKind(StrEnum):
    FACE = "face"  # the creditor's face check issued a grant bound to this payout
    STAFF = "staff"  # released by staff without the creditor's face check, second approver


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Destination(_Record):
    """The receiving account confirmed at filing; a disbursement never changes it."""

    bank_name: str
    account_name: str
    account_number: str

    @property
    def masked(self) -> str:
        """What a creditor's page shows: the bank and the last four digits."""
        return f"{self.bank_name} **** {self.account_number[-4:]}"


class Approval(_Record):
    """One step of the disbursement's chain, as the approvals capability recorded it."""

    subject: str
    actor: str
    at: datetime
    note: str | None = None


class StaffReleaseRequest(_Record):
    """Finance asks to release without the creditor's face check; its own approval chain
    (``approval_id``) decides, and its last approver is the second person."""

    subject: str
    actor: str
    at: datetime
    reason: str
    attempt: int
    approval_id: str


class Release(_Record):
    """What allowed the money to leave, for one attempt."""

    kind: ReleaseKind
    attempt: int
    at: datetime
    released_by: str  # the second approver (staff) or the creditor's claim (face)
    requested_by: str | None = None  # staff: the first finance member, by subject
    reason: str | None = None
    grant_id: str | None = None


class Deferral(_Record):
    """延缓发放: why, until when, who asked and who approved."""

    reason: str
    until: datetime
    requested_by: str
    requested_by_actor: str
    requested_at: datetime
    approval_id: str
    approved_by: str | None = None
    approved_at: datetime | None = None


class TrailEntry(_Record):
    """One line of the disbursement's trail (全程留痕)."""

    at: datetime
    actor: str
    action: str
    state: DisbursementState
    detail: str | None = None


class Disbursement(_Record):
    """A payment from a case account to one creditor of that case."""

    disbursement_id: str
    case_id: str
    case_number: str
    court_code: str
    court_name: str
    account_number: str  # the case account (ledger account id)
    creditor_party_id: str
    creditor_name: str
    creditor_is_person: bool
    creditor_phone: str
    destination: Destination
    amount: int = Field(gt=0)
    currency: str
    fund_type: FundType
    note: str
    state: DisbursementState
    version: int
    proposed_by: str  # subject
    proposed_by_actor: str
    proposed_at: datetime
    updated_at: datetime
    approvals_needed: int  # the steps of its chain, as the approvals capability chose them
    approvals: tuple[Approval, ...] = ()  # a copy for the case page; the approvals table decides
    request_digest: str | None = None  # what was asked, when proposed with an Idempotency-Key
    attempt: int = 1
    reserved_until: datetime | None = None
    reservation_cleared: bool = False  # ended or failed, its reservation known to be released
    deferral: Deferral | None = None
    staff_release_request: StaffReleaseRequest | None = None
    release: Release | None = None
    rail_reference: str | None = None
    rail_status: str | None = None
    failure_reason: str | None = None
    claim_ref: str | None = None  # SHA-256 of the current claim code; older codes stop working
    # The disbursement clock that runs now: a new one after the bank returned a paid payout
    returned_clock: str | None = None
    claim_expires_at: datetime | None = None
    trail: tuple[TrailEntry, ...] = ()

    @property
    def reservation_id(self) -> str:
        """The ledger's pending transfer that reserves this attempt's money."""
        return f"disb:{self.disbursement_id}:{self.attempt}"

    @property
    def clock_subject(self) -> str:
        """The subject of the disbursement clock that runs now (``chalicelib/deadlines``)."""
        return self.returned_clock or self.disbursement_id

    @property
    def rail_key(self) -> str:
        """The payout rail's idempotency key for this attempt: the same attempt is one payout."""
        return f"disbursement-{self.disbursement_id}-{self.attempt}"


class Binding(_Record):
    """What a face-verification grant must be bound to: this payout and nothing else."""

    disbursement_id: str
    attempt: int
    case_id: str
    creditor_party_id: str
    amount: int
    currency: str
    destination_account: str

    @classmethod
    def of(cls, disbursement: Disbursement) -> Binding:
        return cls(
            disbursement_id=disbursement.disbursement_id,
            attempt=disbursement.attempt,
            case_id=disbursement.case_id,
            creditor_party_id=disbursement.creditor_party_id,
            amount=disbursement.amount,
            currency=disbursement.currency,
            destination_account=disbursement.destination.account_number,
        )


class SweepReport(_Record):
    examined: int = 0
    sent: int = 0
    settled: int = 0
    resumed: int = 0
    expired: int = 0
    failed: int = 0
