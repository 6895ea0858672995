"""Ledger fixtures: a service on moto with the system accounts open, and helpers to move money."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService, SystemAccount, Transfer, TransferCode, TransferRequest

CASE_A = "4406042600000011"
CASE_B = "4406042600000029"
CLEARING = SystemAccount.PAYMENT_CLEARING.of("CNY")
PAYOUTS = SystemAccount.PAYOUTS_IN_TRANSIT.of("CNY")
UNIDENTIFIED = SystemAccount.UNIDENTIFIED_FUNDS.of("CNY")
FEES = SystemAccount.FEES_INCOME.of("CNY")
CASH = SystemAccount.CASH_AT_COUNTER.of("CNY")


def new_ledger(client: Any, clock: FixedClock) -> LedgerService:
    """A service with its own account cache, as another Lambda instance would have."""
    return LedgerService(client, wiring.table_name("LEDGER_TABLE"), clock, sleep=lambda _: None)


@pytest.fixture
def ledger(aws: Any, clock: FixedClock) -> LedgerService:
    service = new_ledger(aws, clock)
    service.ensure_system_accounts()
    service.open_case_account(CASE_A, case_id="case-a")
    service.open_case_account(CASE_B, case_id="case-b")
    return service


def collect(ledger: LedgerService, account: str, amount: int, transfer_id: str) -> Transfer:
    """A payment in: debit payment clearing, credit the case account."""
    return ledger.transfer(
        TransferRequest.between(
            id=transfer_id,
            debit=CLEARING,
            credit=account,
            amount=amount,
            code=TransferCode.COLLECTION,
            requested_by="collection",
        )
    )


def disburse(
    ledger: LedgerService,
    account: str,
    amount: int,
    transfer_id: str,
    *,
    pending: bool = False,
    timeout_seconds: int | None = None,
) -> Transfer:
    """Money out to the creditor: debit the case account, credit payouts in transit."""
    return ledger.transfer(
        TransferRequest.between(
            id=transfer_id,
            debit=account,
            credit=PAYOUTS,
            amount=amount,
            code=TransferCode.DISBURSEMENT,
            requested_by="finance-1",
            pending=pending,
            timeout_seconds=timeout_seconds,
        )
    )
