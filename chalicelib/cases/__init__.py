"""Enforcement cases: filing, parties, the case account number, status and its trail."""

from __future__ import annotations

from chalicelib import wiring
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
    "case_service",
]


def _open_ledger_account(account_number: str, case_id: str, currency: str) -> object:
    from chalicelib.ledger import ledger_service

    return ledger_service().open_case_account(account_number, case_id=case_id, currency=currency)


def case_service() -> CaseService:
    return wiring.cached(
        "cases",
        lambda: CaseService(
            wiring.dynamodb(),
            wiring.table_name("CASES_TABLE"),
            wiring.clock(),
            _open_ledger_account,
        ),
    )
