"""One approval chain for every decision that moves money: refunds, disbursements, deferrals,
staff releases and payee changes each name their chain of amount tiers per court.

The chain decides; the capability that owns the money acts on the decision. Owners plan a step
here (``plan_open``, ``plan_decision``, ``plan_answer``, ``plan_cancel``) and commit it together
with their own writes (``commit(planned, owner_writes)``), in one TransactWriteItems. This
package imports nothing from its owners; ``chalicelib.wiring`` builds the service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.approvals.chains import Chain, ChainBook, ChainKind, Step, Tier, default_chains
from chalicelib.approvals.errors import (
    AlreadyApprovedInChain,
    ApprovalChanged,
    ApprovalError,
    ApprovalExists,
    ApprovalNotFound,
    DecisionIncomplete,
    NotRequester,
    NotWaiting,
    OwnerItemRefused,
    RequesterCannotDecide,
    StepNeedsRole,
)
from chalicelib.approvals.models import (
    Action,
    Approval,
    ApprovalStatus,
    Decision,
    HistoryEntry,
    approval_id,
)

if TYPE_CHECKING:
    from chalicelib.approvals.service import ApprovalService, Planned
    from chalicelib.approvals.store import ApprovalStore

__all__ = [
    "Action",
    "AlreadyApprovedInChain",
    "Approval",
    "ApprovalChanged",
    "ApprovalError",
    "ApprovalExists",
    "ApprovalNotFound",
    "ApprovalService",
    "ApprovalStatus",
    "ApprovalStore",
    "Chain",
    "ChainBook",
    "ChainKind",
    "Decision",
    "DecisionIncomplete",
    "HistoryEntry",
    "NotRequester",
    "NotWaiting",
    "OwnerItemRefused",
    "Planned",
    "RequesterCannotDecide",
    "Step",
    "StepNeedsRole",
    "Tier",
    "approval_id",
    "default_chains",
]

# The services load when first asked for, so a route that imports this package's models does
# not pay for them at cold start.
_LAZY = {
    "ApprovalService": "chalicelib.approvals.service",
    "Planned": "chalicelib.approvals.service",
    "ApprovalStore": "chalicelib.approvals.store",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
