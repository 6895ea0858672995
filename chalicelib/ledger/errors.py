"""The ledger's errors: one base, ``LedgerError``, and a subclass per case a caller handles."""

from __future__ import annotations

from chalicelib.problems import (
    Conflict,
    Forbidden,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    ValidationFailed,
)


class LedgerError(ProblemError):
    """Base of every ledger error."""

    area = "ledger"  # each error's problem type is ledger/ and its own name
    slug = "ledger/error"
    title = "Ledger error"


class InvalidTransfer(LedgerError, ValidationFailed):
    """The transfer is malformed: legs do not balance, an amount is not positive, too many legs."""

    title = "The transfer is not valid"


class InvalidQuery(LedgerError, ValidationFailed):
    """A statement window, page size or cursor the ledger cannot serve."""

    title = "The query is not valid"


class AccountNotFound(LedgerError, NotFound):
    title = "No such ledger account"


class InvalidAccount(LedgerError, ValidationFailed):
    title = "The account is not valid for this use"


class AccountConflict(LedgerError, Conflict):
    """An account with this number exists for another case or currency."""

    title = "The account number is taken"


class TransferNotFound(LedgerError, NotFound):
    title = "No such transfer"


class IdempotencyConflict(LedgerError, Conflict):
    """The transfer id was used before for a different request."""

    title = "The transfer id was already used for a different request"


class InsufficientFunds(LedgerError, Conflict):
    """The debit would take a case account below zero, pending debits included."""

    title = "Insufficient funds in the account"


class CurrencyMismatch(LedgerError, ValidationFailed):
    title = "The account holds another currency"


class PendingNotActive(LedgerError, Conflict):
    """The pending transfer was already posted, voided or expired."""

    title = "The pending transfer is no longer pending"


class PendingExpired(PendingNotActive):
    """The pending transfer's timeout has passed; only the expiry sweeper may release it."""

    title = "The pending transfer has expired"


class AlreadyReversed(LedgerError, Conflict):
    title = "The transfer has already been reversed"


class ProposalNotFound(LedgerError, NotFound):
    title = "No such correction proposal"


class ProposalNotOpen(LedgerError, Conflict):
    title = "The correction proposal was already decided"


class SameActor(LedgerError, Forbidden):
    """Four eyes: the person who proposed a correction may not post or reject it."""

    title = "The proposer may not decide their own proposal"


class ConcurrencyExhausted(LedgerError, ServiceUnavailable):
    """Optimistic retries were used up under contention; the caller may try again."""

    title = "The account is busy, try again"
