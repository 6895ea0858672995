"""Reconciliation fixtures: the ledger on moto, and a rail that books what a test tells it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.collection.rail import BalanceKind, RailBalanceTransaction
from chalicelib.ledger import LedgerService, SystemAccount, TransferCode, TransferRequest
from chalicelib.reconciliation import ReconciliationService, ReconciliationStore
from tests.collection.conftest import collection, localstripe, outbox  # noqa: F401 - fixtures
from tests.ledger.conftest import CASE_A, CASE_B, new_ledger

# 10:00 in Beijing on 2 November 2026 (the conftest clock); the day reconciled.
BOOKED_AT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
CLEARING = SystemAccount.PAYMENT_CLEARING.of("CNY")
UNIDENTIFIED = SystemAccount.UNIDENTIFIED_FUNDS.of("CNY")
RAIL_FEES = SystemAccount.RAIL_FEES.of("CNY")

__all__ = ["CASE_A", "CASE_B"]


class BookingRail:
    """The rail's books for the tests: balance transactions as Stripe would list them."""

    name = "stripe"

    def __init__(self) -> None:
        self.booked: list[RailBalanceTransaction] = []

    def book(
        self,
        reference: str,
        amount: int,
        *,
        fee: int = 0,
        currency: str = "CNY",
        kind: BalanceKind = BalanceKind.CHARGE,
        at: datetime = BOOKED_AT,
    ) -> RailBalanceTransaction:
        transaction = RailBalanceTransaction(
            id=f"txn_{len(self.booked) + 1:04d}",
            kind=kind,
            reference=reference,
            amount=amount,
            fee=fee,
            currency=currency,
            created_at=at,
        )
        self.booked.append(transaction)
        return transaction

    def balance_transactions(
        self, start: datetime, end: datetime
    ) -> Iterator[RailBalanceTransaction]:
        yield from (t for t in self.booked if start <= t.created_at < end)


def collected(ledger: LedgerService, account: str, amount: int, reference: str) -> None:
    """A payment posted as collection posts it: keyed by our id, carrying the rail's reference."""
    ledger.transfer(
        TransferRequest.between(
            id=f"collection:pay-{reference}",
            debit=CLEARING,
            credit=account,
            amount=amount,
            code=TransferCode.COLLECTION,
            requested_by="rail:stripe",
            metadata={"rail_reference": reference},
        )
    )


@pytest.fixture
def rail() -> BookingRail:
    return BookingRail()


@pytest.fixture
def day_clock(clock: FixedClock) -> FixedClock:
    clock.set(BOOKED_AT)
    return clock


@pytest.fixture
def ledger(aws: Any, day_clock: FixedClock) -> LedgerService:
    service = new_ledger(aws, day_clock)
    service.ensure_system_accounts()
    service.open_case_account(CASE_A, case_id="case-a")
    service.open_case_account(CASE_B, case_id="case-b")
    return service


@pytest.fixture
def reconciliation(
    aws: Any, rail: BookingRail, ledger: LedgerService, day_clock: FixedClock
) -> ReconciliationService:
    store = ReconciliationStore(aws, wiring.table_name("OVERSIGHT_TABLE"))
    return ReconciliationService(rail, ledger, store, day_clock)  # type: ignore[arg-type]


def next_morning(clock: FixedClock) -> None:
    clock.set(BOOKED_AT + timedelta(days=1))
