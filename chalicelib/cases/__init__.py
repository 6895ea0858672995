"""Enforcement cases: filing, parties, the case account number, status and its trail."""

from __future__ import annotations

from chalicelib.cases.errors import (
    CaseError,
    CaseNotFound,
    DuplicateCaseNumber,
    InvalidAccountNumber,
    StatusChangeRefused,
)
from chalicelib.cases.models import Case, CaseEvent, CaseStatus, FundType, Party, PartyRole
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
