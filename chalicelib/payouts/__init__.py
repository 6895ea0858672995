"""Paying creditors (案款发放): disbursements, their approval, the payout rail and claim links.

Other packages use the names exported here, nothing deeper; the composition root
(``chalicelib.wiring``) builds the workflow and the sender.
"""

from __future__ import annotations

from chalicelib.payouts.errors import (
    ChangedMeanwhile,
    ClaimNotFound,
    DisbursementNotFound,
    FaceCheckUnavailable,
    GrantRefused,
    OverAvailable,
    PayoutError,
    PayoutRailRefused,
    PayoutRailUnavailable,
    ReleaseInvalid,
    SamePerson,
    StateRefused,
)
from chalicelib.payouts.models import Binding, Disbursement, DisbursementState, ReleaseKind
from chalicelib.payouts.rail import PayoutDestination, PayoutRail, PayoutStatus, RailPayout
from chalicelib.payouts.release import FaceGrants, GrantUse, check_release

__all__ = [
    "Binding",
    "ChangedMeanwhile",
    "ClaimNotFound",
    "Disbursement",
    "DisbursementNotFound",
    "DisbursementState",
    "FaceCheckUnavailable",
    "FaceGrants",
    "GrantRefused",
    "GrantUse",
    "OverAvailable",
    "PayoutDestination",
    "PayoutError",
    "PayoutRail",
    "PayoutRailRefused",
    "PayoutRailUnavailable",
    "PayoutStatus",
    "RailPayout",
    "ReleaseInvalid",
    "ReleaseKind",
    "SamePerson",
    "StateRefused",
    "check_release",
]
