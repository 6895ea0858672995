"""Enforcement cases: filing, parties, the case account number, status and its trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.cases.errors import (
    CaseError,
    CaseNotFound,
    DuplicateCaseNumber,
    InvalidAccountNumber,
    StatusChangeRefused,
)
from chalicelib.cases.models import Case, CaseEvent, CaseStatus, FundType, Party, PartyRole

if TYPE_CHECKING:
    from chalicelib.cases.service import CasePage, CaseService

__all__ = [
    "Case",
    "CaseError",
    "CaseEvent",
    "CaseNotFound",
    "CasePage",
    "CaseService",
    "CaseStatus",
    "DuplicateCaseNumber",
    "FundType",
    "InvalidAccountNumber",
    "Party",
    "PartyRole",
    "StatusChangeRefused",
]

# The service loads when first asked for, so a route that imports this package's models
# does not pay for the service at cold start.
_LAZY = {"CasePage": "chalicelib.cases.service", "CaseService": "chalicelib.cases.service"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)
