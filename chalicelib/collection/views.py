"""How collection shows itself. The public case view, which anyone who types an account number
sees, carries only what a payer needs: the court, the case number masked, and what remains to
pay. A payment's view (behind its unguessable id) names the case in full, for the receipt.
Neither ever shows a party's name, ID number or phone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.approvals import ApprovalStatus
from chalicelib.cases.identifiers import group_account_number, mask_case_number
from chalicelib.clock import isoformat
from chalicelib.collection.models import Payment
from chalicelib.collection.rail import BrowserSetup
from chalicelib.money import format_yuan

if TYPE_CHECKING:
    from chalicelib.approvals import Approval
    from chalicelib.collection.paying import CaseOverview


def _money(fen: int, currency: str) -> dict[str, Any]:
    return {"fen": fen, "yuan": format_yuan(fen), "currency": currency}


def overview_view(overview: CaseOverview) -> dict[str, Any]:
    case, standing = overview.case, overview.standing
    owed = case.adjudicated_amount
    return {
        "case_number_masked": mask_case_number(case.case_number),
        "court_name": case.court_name,
        "account_number": case.account_number,
        "account_number_display": group_account_number(case.account_number),
        "accepts_payments": overview.accepts_payments,
        "remaining": _money(standing.remaining(owed), case.currency),
        "paid_in_full": standing.paid >= owed,
    }


def standing_view(overview: CaseOverview) -> dict[str, Any]:
    """For court staff: what the case owes, has been paid, has left and was overpaid."""
    case, standing = overview.case, overview.standing
    owed = case.adjudicated_amount
    return {
        "case_id": case.case_id,
        "case_number": case.case_number,
        "account_number": case.account_number,
        "status": overview.status,
        "owed": _money(owed, case.currency),
        "paid": _money(standing.paid, case.currency),
        "remaining": _money(standing.remaining(owed), case.currency),
        "surplus": _money(standing.surplus(owed), case.currency),
        "paid_in_full": standing.paid >= owed,
        "payments": standing.payments,
    }


def payment_view(payment: Payment) -> dict[str, Any]:
    paid = payment.status.display == "paid"
    view: dict[str, Any] = {
        "payment_id": payment.payment_id,
        "status": payment.status.value,
        "display_status": payment.status.display,
        "amount": _money(payment.amount_received or payment.amount, payment.currency),
        "case_number": payment.case.case_number,
        "court_name": payment.case.court_name,
        "account_number": payment.case.account_number,
        "account_number_display": group_account_number(payment.case.account_number),
        "created_at": isoformat(payment.created_at),
        "paid_at": isoformat(payment.paid_at) if payment.paid_at else None,
        "payment_reference": payment.rail_reference,
        "receipt_number": payment.receipt_number,
        "failure_message": payment.failure_message,
        "receipt_page": f"/receipts/{payment.payment_id}",
    }
    if paid:
        base = f"/collection/payments/{payment.payment_id}/receipt.pdf"
        view["receipt_pdf"] = {"zh": base + "?lang=zh", "en": base + "?lang=en"}
    return view


def browser_view(setup: BrowserSetup) -> dict[str, str]:
    return {
        "rail": setup.rail,
        "publishable_key": setup.publishable_key,
        "script_url": setup.script_url,
    }


def asked_view(approval: Approval) -> dict[str, Any]:
    """Where a two-person entry's chain stands after a question or an answer; its whole history
    is at ``GET /approvals/{id}``."""
    step = approval.current_step
    return {
        "approval_id": approval.id,
        "item_id": approval.item_id,
        "status": approval.status.value,
        "question": approval.last_question if approval.status is ApprovalStatus.RETURNED else None,
        "waiting_for": None if step is None else {"role": step.role.value, "title": step.title},
        "waiting_since": isoformat(approval.waiting_since),
    }
