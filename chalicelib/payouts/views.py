"""How a disbursement is shown: to staff by role, and to the creditor on the claim page."""

from __future__ import annotations

from typing import Any

from chalicelib.cases.views import SEES_BANK_ACCOUNTS, SEES_PERSONAL_DATA, mask_phone
from chalicelib.identity import Principal
from chalicelib.money import format_yuan
from chalicelib.payouts.models import Disbursement, DisbursementState

S = DisbursementState
# What the creditor's page says, in the creditor's words (the page translates these keys).
CLAIM_STATUS = {
    S.APPROVED: "ready",
    S.DEFERRED: "deferred",
    S.RELEASED: "sending",
    S.SENDING: "sending",
    S.SENT: "sending",
    S.PAID: "paid",
    S.FAILED: "failed",
    S.RETURNED: "failed",
    S.CANCELLED: "closed",
    S.EXPIRED: "closed",
    S.REJECTED: "closed",
    S.PROPOSED: "closed",
}


def _money(fen: int, currency: str) -> dict[str, Any]:
    return {"fen": fen, "currency": currency, "yuan": format_yuan(fen)}


def staff_view(d: Disbursement, viewer: Principal) -> dict[str, Any]:
    account = d.destination.account_number
    deferral = d.deferral
    return {
        "disbursement_id": d.disbursement_id,
        "case_id": d.case_id,
        "case_number": d.case_number,
        "court_code": d.court_code,
        "account_number": d.account_number,
        "creditor": {
            "party_id": d.creditor_party_id,
            "name": d.creditor_name,
            "type": "person" if d.creditor_is_person else "organisation",
            "phone": d.creditor_phone if viewer.has_any(SEES_PERSONAL_DATA)
            else mask_phone(d.creditor_phone),
        },
        "destination": {
            "bank_name": d.destination.bank_name,
            "account_name": d.destination.account_name,
            "account_number": account if viewer.has_any(SEES_BANK_ACCOUNTS)
            else d.destination.masked,
        },
        "amount": _money(d.amount, d.currency),
        "fund_type": d.fund_type.value,
        "note": d.note,
        "state": d.state.value,
        "version": d.version,
        "attempt": d.attempt,
        "approvals_needed": d.approvals_needed,
        "approvals": [a.model_dump(mode="json") for a in d.approvals],
        "proposed_by": d.proposed_by_actor,
        "proposed_at": d.proposed_at.isoformat(),
        "reserved_until": d.reserved_until.isoformat() if d.reserved_until else None,
        "deferral": None if deferral is None else {
            "reason": deferral.reason,
            "until": deferral.until.isoformat(),
            "requested_by": deferral.requested_by_actor,
            "approved": deferral.approved_by is not None,
        },
        "staff_release_request": None if d.staff_release_request is None else {
            "by": d.staff_release_request.actor,
            "reason": d.staff_release_request.reason,
        },
        "release": None if d.release is None else {
            "kind": d.release.kind.value,
            "label": "released by staff without the creditor's face check"
            if d.release.kind.value == "staff" else "released after the creditor's face check",
            "at": d.release.at.isoformat(),
            "released_by": d.release.released_by,
            "requested_by": d.release.requested_by,
            "reason": d.release.reason,
        },
        "rail_reference": d.rail_reference,
        "failure_reason": d.failure_reason,
        "trail": [t.model_dump(mode="json") for t in d.trail],
    }  # fmt: skip


def claim_view(d: Disbursement) -> dict[str, Any]:
    """The creditor's page: no id numbers, no phone, the destination masked."""
    deferral = d.deferral if d.state == S.DEFERRED else None
    return {
        "case_number": d.case_number,
        "court_name": d.court_name,
        "creditor_name": d.creditor_name[:1] + "*" * (len(d.creditor_name) - 1),
        "amount": _money(d.amount, d.currency),
        "destination": d.destination.masked,
        "status": CLAIM_STATUS[d.state],
        "deferred_until": deferral.until.date().isoformat() if deferral else None,
        "deferral_reason": deferral.reason if deferral else None,
        "claim_expires_on": d.claim_expires_at.date().isoformat() if d.claim_expires_at else None,
    }
