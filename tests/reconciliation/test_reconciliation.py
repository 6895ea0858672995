"""The three-way reconciliation: every injected difference is found, a clean day closes at zero."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService, TransferCode, TransferRequest
from chalicelib.reconciliation import (
    DayStatus,
    DifferenceKind,
    ItemStatus,
    ReconciliationService,
)
from chalicelib.reconciliation.errors import DayClosed, DayNotBalanced
from tests.reconciliation.conftest import (
    CASE_A,
    CASE_B,
    CLEARING,
    RAIL_FEES,
    UNIDENTIFIED,
    BookingRail,
    collected,
    next_morning,
)

DAY = date(2026, 11, 2)


def clean_day(rail: BookingRail, ledger: LedgerService) -> None:
    for reference, account, amount in (
        ("pi_1", CASE_A, 40_000),
        ("pi_2", CASE_B, 12_345),
        ("pi_3", CASE_A, 100),
    ):
        collected(ledger, account, amount, reference)
        rail.book(reference, amount)


def test_a_clean_day_balances_three_ways_and_closes_at_zero(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    clean_day(rail, ledger)
    next_morning(day_clock)
    result = reconciliation.run(DAY, by="finance-1")
    assert result.status is DayStatus.BALANCED
    assert (result.rail_transactions, result.matched, result.open_items) == (3, 3, 0)
    assert result.rail_net == result.ledger_rail_movement == result.ledger_case_movement == 52_445
    assert result.case_accounts_checked == 2
    closed = reconciliation.close(DAY, by="finance-1")
    assert closed.status is DayStatus.CLOSED
    assert closed.unexplained == 0
    with pytest.raises(DayClosed):
        reconciliation.run(DAY, by="finance-1")


def test_each_injected_difference_is_found(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    clean_day(rail, ledger)
    rail.book("pi_rail_only", 5_000)  # a missing ledger transfer
    collected(ledger, CASE_B, 7_000, "pi_ledger_only")  # a missing rail transaction
    rail.book("pi_off", 20_001)  # the rail took one fen more than the ledger posted
    collected(ledger, CASE_A, 20_000, "pi_off")
    next_morning(day_clock)
    result = reconciliation.run(DAY, by="finance-1")
    items = {i.kind: i for i in reconciliation.store.items("CNY", DAY)}
    assert set(items) == {
        DifferenceKind.MISSING_IN_LEDGER,
        DifferenceKind.MISSING_AT_RAIL,
        DifferenceKind.AMOUNT,
    }
    assert items[DifferenceKind.MISSING_IN_LEDGER].reference == "pi_rail_only"
    assert items[DifferenceKind.MISSING_IN_LEDGER].difference == 5_000
    assert items[DifferenceKind.MISSING_AT_RAIL].reference == "pi_ledger_only"
    assert items[DifferenceKind.MISSING_AT_RAIL].difference == -7_000
    assert items[DifferenceKind.AMOUNT].reference == "pi_off"
    assert items[DifferenceKind.AMOUNT].difference == 1
    assert result.status is DayStatus.OPEN
    assert result.matched == 3
    assert result.unexplained == 5_000 + 7_000 + 1
    # The totals disagree by exactly what the items explain.
    assert result.rail_net - result.ledger_rail_movement == 5_000 - 7_000 + 1
    with pytest.raises(DayNotBalanced) as refused:
        reconciliation.close(DAY, by="finance-1")
    assert refused.value.extensions["unexplained"] == 12_001


def test_the_rail_fee_is_booked_explicitly_once(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    collected(ledger, CASE_A, 40_000, "pi_1")
    charged = rail.book("pi_1", 40_000, fee=240)
    next_morning(day_clock)
    first = reconciliation.run(DAY, by="finance-1")
    again = reconciliation.run(DAY, by="finance-1")
    assert (first.fees_booked, first.fees_booked_fen) == (1, 240)
    (booked,) = reconciliation.fees(DAY)  # a re-run records the same fee, not a second one
    assert (booked.rail_transaction, booked.amount) == (charged.id, 240)
    assert booked.transfer_id == f"railfee:stripe:{charged.id}"
    fee = ledger.get_transfer(booked.transfer_id)
    assert fee.code is TransferCode.RAIL_FEE
    assert ledger.balance(RAIL_FEES).posted == -240  # booked once, for both runs
    assert ledger.balance(CLEARING).posted == -(40_000 - 240)  # what the rail holds for us
    for result in (first, again):
        assert result.status is DayStatus.BALANCED
        assert result.rail_net == result.ledger_rail_movement == result.ledger_case_movement
        assert result.rail_net == 39_760
    assert again.runs == 2


def test_a_fee_booked_with_another_amount_is_a_difference(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    collected(ledger, CASE_A, 40_000, "pi_1")
    charged = rail.book("pi_1", 40_000, fee=240)
    ledger.transfer(
        TransferRequest.between(
            id=f"railfee:stripe:{charged.id}",
            debit=RAIL_FEES,
            credit=CLEARING,
            amount=200,
            code=TransferCode.RAIL_FEE,
            requested_by="someone",
        )
    )
    next_morning(day_clock)
    result = reconciliation.run(DAY, by="finance-1")
    (item,) = reconciliation.store.items("CNY", DAY)
    assert item.kind is DifferenceKind.AMOUNT
    assert item.reference == charged.id
    assert item.difference == -40
    assert result.status is DayStatus.OPEN


def test_unidentified_money_counts_as_held(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    ledger.transfer(
        TransferRequest.between(
            id="unidentified:stripe:pi_9",
            debit=CLEARING,
            credit=UNIDENTIFIED,
            amount=9_900,
            code=TransferCode.UNIDENTIFIED_RECEIPT,
            requested_by="rail:stripe",
            metadata={"rail_reference": "pi_9"},
        )
    )
    rail.book("pi_9", 9_900)
    next_morning(day_clock)
    result = reconciliation.run(DAY, by="finance-1")
    assert result.status is DayStatus.BALANCED
    assert result.ledger_case_movement == 9_900


def test_a_currency_difference_is_found(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    collected(ledger, CASE_A, 40_000, "pi_1")
    rail.book("pi_1", 40_000, currency="HKD")
    rail.book("pi_elsewhere", 100, currency="HKD")  # another currency's own business
    next_morning(day_clock)
    reconciliation.run(DAY, by="finance-1")
    (item,) = reconciliation.store.items("CNY", DAY)
    assert item.kind is DifferenceKind.CURRENCY
    assert item.reference == "pi_1"


def test_a_resolution_survives_a_re_run_and_lets_the_day_close(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    clean_day(rail, ledger)
    rail.book("pi_late", 5_000)
    next_morning(day_clock)
    reconciliation.run(DAY, by="finance-1")
    (item,) = reconciliation.store.items("CNY", DAY)
    resolved = reconciliation.resolve(
        DAY, item.item_id, note="posted after midnight; in the next day's ledger", by="fin-2"
    )
    assert resolved.status is ItemStatus.RESOLVED
    assert resolved.resolved_by == "fin-2"
    rerun = reconciliation.run(DAY, by="finance-1")
    assert rerun.status is DayStatus.BALANCED
    assert rerun.unexplained == 0
    (kept,) = reconciliation.store.items("CNY", DAY)
    assert kept.note == "posted after midnight; in the next day's ledger"
    assert reconciliation.close(DAY, by="fin-2").status is DayStatus.CLOSED
    csv_text = reconciliation.export_csv(DAY)
    assert "missing_in_ledger:pi_late" in csv_text
    assert "closed" in csv_text


def test_money_booked_on_another_day_is_not_counted(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    # 23:59:59 on 1 November in Beijing: the day before.
    from datetime import UTC, datetime

    rail.book("pi_yesterday", 1_000, at=datetime(2026, 11, 1, 15, 59, 59, tzinfo=UTC))
    clean_day(rail, ledger)
    next_morning(day_clock)
    assert reconciliation.run(DAY, by="finance-1").status is DayStatus.BALANCED
