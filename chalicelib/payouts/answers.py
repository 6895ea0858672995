"""The JSON answers of the payout routes (see ``chalicelib.answers``): a disbursement as staff
see it by role, what the creditor's claim page shows, and the rail's webhook receipt."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from chalicelib.answers import AnswerBody, MoneyShown
from chalicelib.cases.models import FundType
from chalicelib.payouts.models import Approval, DisbursementState, ReleaseKind, TrailEntry


class CreditorShown(AnswerBody):
    party_id: str
    name: str
    type: Literal["person", "organisation"]
    phone: str  # masked but to the case officer and admin


class DestinationShown(AnswerBody):
    bank_name: str
    account_name: str
    account_number: str  # in full to finance and filers, else masked


class DeferralShown(AnswerBody):
    reason: str
    until: datetime
    requested_by: str
    approved: bool


class StaffReleaseShown(AnswerBody):
    by: str
    reason: str


class ReleaseShown(AnswerBody):
    """What let the money leave; for a staff release, the finance member who asked and the
    second person whose approval released it (token subjects), and why."""

    kind: ReleaseKind
    label: str
    at: datetime
    released_by: str
    requested_by: str | None
    reason: str | None


class DisbursementShown(AnswerBody):
    disbursement_id: str
    case_id: str
    case_number: str
    court_code: str
    account_number: str
    creditor: CreditorShown
    destination: DestinationShown
    amount: MoneyShown
    fund_type: FundType
    note: str
    state: DisbursementState
    version: int
    attempt: int
    approvals_needed: int
    approvals: list[Approval]
    proposed_by: str
    proposed_at: datetime
    reserved_until: datetime | None
    deferral: DeferralShown | None
    staff_release_request: StaffReleaseShown | None
    release: ReleaseShown | None
    rail_reference: str | None
    failure_reason: str | None
    trail: list[TrailEntry]


class CaseDisbursements(AnswerBody):
    disbursements: list[DisbursementShown]


class ClaimShown(AnswerBody):
    """The creditor's page: no ID numbers, no phone, the destination masked."""

    case_number: str
    court_name: str
    creditor_name: str
    amount: MoneyShown
    destination: str
    status: Literal["ready", "deferred", "sending", "paid", "failed", "closed"]
    deferred_until: date | None
    deferral_reason: str | None
    claim_expires_on: date | None


class PayoutEventReceived(AnswerBody):
    """The rail's notice was taken: what it named and what became of it."""

    received: str
    action: str | None = None
    state: DisbursementState | None = None
