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

    slug = "ledger/error"
    title = "Ledger error"


class InvalidTransfer(LedgerError, ValidationFailed):
    """The transfer is malformed: legs do not balance, an amount is not positive, too many legs."""

    slug = "ledger/invalid-transfer"
    title = "The transfer is not valid"


class InvalidQuery(LedgerError, ValidationFailed):
    """A statement window, page size or cursor the ledger cannot serve."""

    slug = "ledger/invalid-query"
    title = "The query is not valid"


class AccountNotFound(LedgerError, NotFound):
    slug = "ledger/account-not-found"
    title = "No such ledger account"


class InvalidAccount(LedgerError, ValidationFailed):
    slug = "ledger/invalid-account"
    title = "The account is not valid for this use"


class AccountConflict(LedgerError, Conflict):
    """An account with this number exists for another case or currency."""

    slug = "ledger/account-conflict"
    title = "The account number is taken"


class TransferNotFound(LedgerError, NotFound):
    slug = "ledger/transfer-not-found"
    title = "No such transfer"


class IdempotencyConflict(LedgerError, Conflict):
    """The transfer id was used before for a different request."""

    slug = "ledger/idempotency-conflict"
    title = "The transfer id was already used for a different request"


class InsufficientFunds(LedgerError, Conflict):
    """The debit would take a case account below zero, pending debits included."""

    slug = "ledger/insufficient-funds"
    title = "Insufficient funds in the account"


class CurrencyMismatch(LedgerError, ValidationFailed):
    slug = "ledger/currency-mismatch"
    title = "The account holds another currency"


class PendingNotActive(LedgerError, Conflict):
    """The pending transfer was already posted, voided or expired."""

    slug = "ledger/pending-not-active"
    title = "The pending transfer is no longer pending"


class PendingExpired(PendingNotActive):
    """The pending transfer's timeout has passed; only the expiry sweeper may release it."""

    slug = "ledger/pending-expired"
    title = "The pending transfer has expired"


class AlreadyReversed(LedgerError, Conflict):
    slug = "ledger/already-reversed"
    title = "The transfer has already been reversed"


class ProposalNotFound(LedgerError, NotFound):
    slug = "ledger/proposal-not-found"
    title = "No such correction proposal"


class ProposalNotOpen(LedgerError, Conflict):
    slug = "ledger/proposal-not-open"
    title = "The correction proposal was already decided"


class SameActor(LedgerError, Forbidden):
    """Four eyes: the person who proposed a correction may not post or reject it."""

    slug = "ledger/same-actor"
    title = "The proposer may not decide their own proposal"


class ConcurrencyExhausted(LedgerError, ServiceUnavailable):
    """Optimistic retries were used up under contention; the caller may try again."""

    slug = "ledger/concurrency-exhausted"
    title = "The account is busy, try again"
