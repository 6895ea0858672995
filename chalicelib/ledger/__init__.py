"""The one-case-one-account ledger: double-entry, two-phase, idempotent, hash-chained.

Other packages use the names exported here, nothing deeper; ``chalicelib.wiring`` builds the
service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.ledger.errors import (
    AccountConflict,
    AccountNotFound,
    AlreadyReversed,
    ConcurrencyExhausted,
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAccount,
    InvalidQuery,
    InvalidTransfer,
    LedgerError,
    PendingExpired,
    PendingNotActive,
    ProposalNotFound,
    ProposalNotOpen,
    SameActor,
    TransferNotFound,
)
from chalicelib.ledger.models import (
    Account,
    AccountBalance,
    AccountKind,
    BreakKind,
    ChainBreak,
    CorrectionProposal,
    Entry,
    Leg,
    PendingState,
    ProposalStatus,
    Side,
    Statement,
    StatementLine,
    SystemAccount,
    Transfer,
    TransferCode,
    TransferPhase,
    TransferRequest,
    VerifyReport,
)

if TYPE_CHECKING:
    from chalicelib.ledger.engine import PlannedPosting
    from chalicelib.ledger.service import LedgerService
    from chalicelib.ledger.store import PostingCancelled

__all__ = [
    "Account",
    "AccountBalance",
    "AccountConflict",
    "AccountKind",
    "AccountNotFound",
    "AlreadyReversed",
    "BreakKind",
    "ChainBreak",
    "ConcurrencyExhausted",
    "CorrectionProposal",
    "CurrencyMismatch",
    "Entry",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidAccount",
    "InvalidQuery",
    "InvalidTransfer",
    "LedgerError",
    "LedgerService",
    "Leg",
    "PendingExpired",
    "PendingNotActive",
    "PendingState",
    "PlannedPosting",
    "PostingCancelled",
    "ProposalNotFound",
    "ProposalNotOpen",
    "ProposalStatus",
    "SameActor",
    "Side",
    "Statement",
    "StatementLine",
    "SystemAccount",
    "Transfer",
    "TransferCode",
    "TransferNotFound",
    "TransferPhase",
    "TransferRequest",
    "VerifyReport",
]

# The service, the engine and the store load when first asked for, so a route that imports
# this package's models does not pay for them at cold start.
_LAZY = {
    "LedgerService": "chalicelib.ledger.service",
    "PlannedPosting": "chalicelib.ledger.engine",
    "PostingCancelled": "chalicelib.ledger.store",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
