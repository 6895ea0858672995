"""The one-case-one-account ledger: double-entry, two-phase, idempotent, hash-chained.

Other packages use ``ledger_service()`` and the names exported here, nothing deeper.
"""

from __future__ import annotations

from chalicelib import wiring
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
from chalicelib.ledger.service import LedgerService

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
    "ledger_service",
]


def ledger_service() -> LedgerService:
    """The process-wide ledger service, built on first use from the wiring's adapters."""
    return wiring.cached(
        "ledger",
        lambda: LedgerService(wiring.dynamodb(), wiring.table_name("LEDGER_TABLE"), wiring.clock()),
    )
