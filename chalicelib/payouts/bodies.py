"""What staff and creditors send: request bodies and query strings of the payout routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from chalicelib.bodies import Reason, RequestBody
from chalicelib.cases import FundType
from chalicelib.money import PositiveFen
from chalicelib.payouts.models import DisbursementState

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
# 32 random bytes in URL-safe base64 are 43 characters; anything else is not a claim code.
ClaimCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]


class ProposeDisbursement(RequestBody):
    """A clerk proposes paying one creditor of the case: all or the undisputed part."""

    creditor_party_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: PositiveFen
    fund_type: FundType = FundType.ENFORCEMENT
    note: Note = ""


class Decision(RequestBody):
    note: Note = ""


class Rejection(RequestBody):
    reason: Reason


class DeferralRequest(RequestBody):
    reason: Reason
    until: datetime


class StaffRelease(RequestBody):
    """Why the creditor is paid without the face check (an organisation, no mobile phone)."""

    reason: Reason


class QueueQuery(RequestBody):
    court: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    state: DisbursementState
    limit: int = Field(default=50, ge=1, le=200)


class ClaimLookup(RequestBody):
    code: ClaimCode


class FaceRelease(RequestBody):
    """The creditor's claim code and the grant the face check issued for this payout."""

    code: ClaimCode
    grant: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
