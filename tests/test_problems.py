"""Problem types are part of the API: a package that names its area gives each error the
type of its own name, and the types clients already handle stay as published."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from chalicelib import problems
from chalicelib.audit import errors as audit_errors
from chalicelib.ledger import errors as ledger_errors

PUBLISHED = {
    "LedgerError": "ledger/error",
    "InvalidTransfer": "ledger/invalid-transfer",
    "InvalidQuery": "ledger/invalid-query",
    "AccountNotFound": "ledger/account-not-found",
    "InvalidAccount": "ledger/invalid-account",
    "AccountConflict": "ledger/account-conflict",
    "TransferNotFound": "ledger/transfer-not-found",
    "IdempotencyConflict": "ledger/idempotency-conflict",
    "InsufficientFunds": "ledger/insufficient-funds",
    "CurrencyMismatch": "ledger/currency-mismatch",
    "PendingNotActive": "ledger/pending-not-active",
    "PendingExpired": "ledger/pending-expired",
    "AlreadyReversed": "ledger/already-reversed",
    "ProposalNotFound": "ledger/proposal-not-found",
    "ProposalNotOpen": "ledger/proposal-not-open",
    "SameActor": "ledger/same-actor",
    "ConcurrencyExhausted": "ledger/concurrency-exhausted",
    "AuditError": "audit/error",
    "InvalidAuditQuery": "audit/invalid-query",
    "DigestNotFound": "audit/digest-not-found",
    "DigestInvalid": "audit/digest-invalid",
    "AnchorUnavailable": "audit/anchor-unavailable",
}


@pytest.fixture(autouse=True)
def forget_errors_made_here() -> Iterator[None]:
    """The errors these tests make are gone afterwards, so the published document's list of
    problem types (every subclass loaded) never shows them."""
    yield
    gc.collect()


def test_an_error_in_an_area_takes_the_problem_type_of_its_own_name() -> None:
    class RegistryError(problems.ProblemError):
        area = "registry"
        slug = "registry/error"

    class SealMissing(RegistryError, problems.NotFound):
        title = "No seal"

    class SealMissingAbroad(SealMissing):
        title = "No seal abroad"

    class Named(RegistryError):
        slug = "registry/by-hand"

    assert SealMissing.slug == "registry/seal-missing"
    assert SealMissing("x").as_problem()["type"] == problems.PROBLEM_BASE + "registry/seal-missing"
    assert SealMissing.status == 404
    assert SealMissingAbroad.slug == "registry/seal-missing-abroad"
    assert Named.slug == "registry/by-hand"
    assert RegistryError.slug == "registry/error"


def test_an_error_outside_an_area_keeps_the_type_it_inherits() -> None:
    class Busy(problems.ServiceUnavailable):
        title = "Busy"

    assert Busy.slug == problems.ServiceUnavailable.slug


def test_the_ledger_and_audit_problem_types_stay_as_published() -> None:
    declared = {
        name: kind.slug
        for module in (ledger_errors, audit_errors)
        for name, kind in vars(module).items()
        if isinstance(kind, type)
        and issubclass(kind, problems.ProblemError)
        and kind.__module__ == module.__name__
    }
    assert declared == PUBLISHED
