"""Refunds (退付): money paid by mistake, overpaid, paid twice, left over when a case is
concluded or never matched to a case goes back the way it came, after the approval chain.

Other packages use the names exported here; ``chalicelib.wiring`` builds the services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.refunds.errors import (
    BankReferenceUsed,
    NotRefundRequester,
    RefundChanged,
    RefundError,
    RefundExceedsPayment,
    RefundNotFound,
    RefundRailUnavailable,
    RefundStateConflict,
    SamePersonConfirms,
    SourceNotFound,
    SourceNotRefundable,
    UnidentifiedRefundedWhole,
)
from chalicelib.refunds.models import (
    ALLOWED,
    Attempt,
    Origin,
    ReasonCode,
    Refund,
    RefundSource,
    RefundState,
    SourceKind,
)

if TYPE_CHECKING:
    from chalicelib.refunds.drafts import Drafts
    from chalicelib.refunds.service import RefundService

__all__ = [
    "ALLOWED",
    "Attempt",
    "BankReferenceUsed",
    "Drafts",
    "NotRefundRequester",
    "Origin",
    "ReasonCode",
    "Refund",
    "RefundChanged",
    "RefundError",
    "RefundExceedsPayment",
    "RefundNotFound",
    "RefundRailUnavailable",
    "RefundService",
    "RefundSource",
    "RefundState",
    "RefundStateConflict",
    "SamePersonConfirms",
    "SourceKind",
    "SourceNotFound",
    "SourceNotRefundable",
    "UnidentifiedRefundedWhole",
]

# The services load when first asked for, so a route that imports this package's models does
# not pay for them at cold start.
_LAZY = {
    "RefundService": "chalicelib.refunds.service",
    "Drafts": "chalicelib.refunds.drafts",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
