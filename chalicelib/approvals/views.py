"""How an approval is shown to staff: the item, where it stands, what waits, its history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.approvals.models import Approval
from chalicelib.clock import isoformat
from chalicelib.money import Money

if TYPE_CHECKING:
    from chalicelib.approvals.service import ApprovalService


def approval_view(approval: Approval, service: ApprovalService) -> dict[str, Any]:
    step = approval.current_step
    return {
        "id": approval.id,
        "kind": approval.kind.value,
        "item_id": approval.item_id,
        "court": approval.court,
        "amount": Money(approval.amount_fen, approval.currency).as_dict(),
        "summary": approval.summary,
        "status": approval.status.value,
        "requested_by": {
            "subject": approval.requested_by_subject,
            "name": approval.requested_by_name,
        },
        "steps": [
            {"role": s.role.value, "title": s.title, "done": i < approval.next_step}
            for i, s in enumerate(approval.steps)
        ],
        "waiting_for": None if step is None else {"role": step.role.value, "title": step.title},
        "waiting_since": isoformat(approval.waiting_since),
        "due_at": None if approval.status.final else isoformat(service.due_at(approval)),
        "overdue": service.is_overdue(approval),
        "question": approval.last_question if approval.status.value == "returned" else None,
        "history": [
            {
                "at": isoformat(e.at),
                "action": e.action.value,
                "by": {"subject": e.by_subject, "name": e.by_name},
                "role": None if e.role is None else e.role.value,
                "step": e.step,
                "text": e.text,
            }
            for e in approval.history
        ],
    }
