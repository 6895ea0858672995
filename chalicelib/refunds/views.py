"""How a refund is shown: to staff in full, to the payer on the receipt without staff names."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import isoformat
from chalicelib.money import Money
from chalicelib.refunds.models import Refund


def refund_view(refund: Refund) -> dict[str, Any]:
    source = refund.source
    return {
        "id": refund.refund_id,
        "state": refund.state.value,
        "amount": Money(refund.amount, refund.currency).as_dict(),
        "reason_code": refund.reason_code.value,
        "reason_text": refund.reason_text,
        "note": refund.note,
        "origin": refund.origin.value,
        "failure": refund.failure,
        "source": {
            "kind": source.kind.value,
            "reference": source.reference,
            "paid": Money(source.paid, source.currency).as_dict(),
            "court": source.court,
            "case_id": source.case_id,
            "case_number": source.case_number,
            "account": source.ledger_account,
        },
        "created_at": isoformat(refund.created_at),
        "updated_at": isoformat(refund.updated_at),
        "attempts": [
            {
                "number": a.number,
                "reservation": a.reservation_id,
                "rail_reference": a.rail_reference,
                "bank_reference": a.bank_reference,
                "recorded_by": a.recorded_by,
                "confirmed_by": a.confirmed_by,
                "sent_at": None if a.sent_at is None else isoformat(a.sent_at),
                "finished_at": None if a.finished_at is None else isoformat(a.finished_at),
                "failure": a.failure,
            }
            for a in refund.attempts
        ],
    }


def history_view(refund: Refund) -> list[dict[str, Any]]:
    return [
        {
            "at": isoformat(e.at),
            "state": e.state.value,
            "by": {"subject": e.by_subject, "name": e.by_name},
            "note": e.note,
        }
        for e in refund.history
    ]


def public_view(refund: Refund) -> dict[str, Any]:
    """What the payer's receipt shows: amount, status and when; no staff, no notes."""
    return {
        "amount": Money(refund.amount, refund.currency).as_dict(),
        "status": refund.state.value,
        "updated_at": isoformat(refund.updated_at),
    }
