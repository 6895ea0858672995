"""Movements either side of midnight are one movement, and money posted twice under one rail
reference is shown as what it is: both on the ledger on moto, run as finance runs them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService, TransferCode, TransferRequest
from chalicelib.reconciliation import (
    DayStatus,
    DifferenceKind,
    ItemStatus,
    ReconciliationService,
)
from chalicelib.reconciliation.midnight import MATCHED_ACROSS_MIDNIGHT
from tests.reconciliation.conftest import CASE_A, CASE_B, CLEARING, BookingRail, collected

DAY = date(2026, 11, 2)
NEXT = date(2026, 11, 3)
# 23:59:30 on 2 November and 00:00:30 on 3 November, in Beijing
BEFORE_MIDNIGHT = datetime(2026, 11, 2, 15, 59, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 11, 2, 16, 0, 30, tzinfo=UTC)
MORNING_AFTER_NEXT = datetime(2026, 11, 4, 2, 0, tzinfo=UTC)


def _posted_at(clock: FixedClock, ledger: LedgerService, at: datetime, reference: str) -> None:
    clock.set(at)
    collected(ledger, CASE_A, 25_000, reference)


def test_a_payment_booked_by_the_rail_before_midnight_and_posted_after_matches_next_day(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    collected(ledger, CASE_B, 10_000, "pi_day")
    rail.book("pi_day", 10_000)
    rail.book("pi_midnight", 25_000, at=BEFORE_MIDNIGHT)
    _posted_at(day_clock, ledger, AFTER_MIDNIGHT, "pi_midnight")
    day_clock.set(MORNING_AFTER_NEXT - timedelta(days=1))

    first = reconciliation.run(DAY, by="schedule:reconciliation")
    (alone,) = reconciliation.store.items("CNY", DAY)
    assert (alone.kind, alone.status, first.status) == (
        DifferenceKind.MISSING_IN_LEDGER,
        ItemStatus.OPEN,
        DayStatus.OPEN,
    )

    day_clock.set(MORNING_AFTER_NEXT)
    second = reconciliation.run(NEXT, by="schedule:reconciliation")
    assert second.status is DayStatus.BALANCED
    assert (second.matched, second.unexplained) == (1, 0)
    (pair,) = reconciliation.store.items("CNY", NEXT)
    assert pair.kind is DifferenceKind.ACROSS_MIDNIGHT
    assert pair.status is ItemStatus.RESOLVED
    assert (pair.ledger_amount, pair.difference, pair.other_day) == (25_000, -25_000, DAY)
    assert pair.transfers == ("collection:pay-pi_midnight",)
    # the next day's totals differ by exactly the movement its record explains
    assert second.rail_net - second.ledger_rail_movement == pair.difference

    # the day before keeps its difference, resolved by the match, and can close at zero
    (kept,) = reconciliation.store.items("CNY", DAY)
    assert kept.item_id == alone.item_id
    assert (kept.status, kept.resolved_by, kept.other_day) == (
        ItemStatus.RESOLVED,
        MATCHED_ACROSS_MIDNIGHT,
        NEXT,
    )
    assert kept.note is not None
    assert "collection:pay-pi_midnight" in kept.note
    before, _ = reconciliation.day(DAY)
    assert (before.status, before.open_items, before.unexplained) == (DayStatus.BALANCED, 0, 0)
    assert reconciliation.close(DAY, by="fin-2").status is DayStatus.CLOSED
    assert reconciliation.close(NEXT, by="fin-2").status is DayStatus.CLOSED
    assert "across_midnight:pi_midnight" in reconciliation.export_csv(NEXT)


def test_a_transfer_posted_before_midnight_and_booked_by_the_rail_after_matches_too(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    _posted_at(day_clock, ledger, BEFORE_MIDNIGHT, "pi_midnight")
    rail.book("pi_midnight", 25_000, at=AFTER_MIDNIGHT)
    day_clock.set(MORNING_AFTER_NEXT)
    assert reconciliation.run(DAY, by="finance-1").status is DayStatus.OPEN
    assert reconciliation.run(NEXT, by="finance-1").status is DayStatus.BALANCED
    (kept,) = reconciliation.store.items("CNY", DAY)
    assert (kept.kind, kept.status) == (DifferenceKind.MISSING_AT_RAIL, ItemStatus.RESOLVED)
    (pair,) = reconciliation.store.items("CNY", NEXT)
    assert (pair.kind, pair.rail_amount, pair.difference) == (
        DifferenceKind.ACROSS_MIDNIGHT,
        25_000,
        25_000,
    )
    assert reconciliation.day(DAY)[0].status is DayStatus.BALANCED
    # run again, both days say the same: no second record, no difference reopened
    assert reconciliation.run(NEXT, by="finance-1").status is DayStatus.BALANCED
    assert reconciliation.run(DAY, by="finance-1").status is DayStatus.BALANCED
    assert len(reconciliation.store.items("CNY", NEXT)) == 1


def test_days_run_out_of_order_still_match_across_midnight(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    rail.book("pi_midnight", 25_000, at=BEFORE_MIDNIGHT)
    _posted_at(day_clock, ledger, AFTER_MIDNIGHT, "pi_midnight")
    day_clock.set(MORNING_AFTER_NEXT)
    assert reconciliation.run(NEXT, by="finance-1").status is DayStatus.OPEN
    assert reconciliation.run(DAY, by="finance-1").status is DayStatus.BALANCED
    (pair,) = reconciliation.store.items("CNY", DAY)
    assert (pair.kind, pair.other_day) == (DifferenceKind.ACROSS_MIDNIGHT, NEXT)
    (kept,) = reconciliation.store.items("CNY", NEXT)
    assert (kept.kind, kept.status) == (DifferenceKind.MISSING_AT_RAIL, ItemStatus.RESOLVED)
    assert reconciliation.day(NEXT)[0].status is DayStatus.BALANCED


def test_a_lone_side_of_another_amount_is_not_matched_across_midnight(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    rail.book("pi_midnight", 25_001, at=BEFORE_MIDNIGHT)
    _posted_at(day_clock, ledger, AFTER_MIDNIGHT, "pi_midnight")
    day_clock.set(MORNING_AFTER_NEXT)
    reconciliation.run(DAY, by="finance-1")
    assert reconciliation.run(NEXT, by="finance-1").status is DayStatus.OPEN
    (before,) = reconciliation.store.items("CNY", DAY)
    (after,) = reconciliation.store.items("CNY", NEXT)
    assert (before.kind, before.status) == (DifferenceKind.MISSING_IN_LEDGER, ItemStatus.OPEN)
    assert (after.kind, after.status) == (DifferenceKind.MISSING_AT_RAIL, ItemStatus.OPEN)


def test_money_posted_twice_under_one_rail_reference_is_an_amount_difference(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    collected(ledger, CASE_B, 10_000, "pi_other")
    rail.book("pi_other", 10_000)
    rail.book("pi_twice", 40_000)
    collected(ledger, CASE_A, 40_000, "pi_twice")
    ledger.transfer(  # the same payment again, under another id, carrying the same reference
        TransferRequest.between(
            id="unidentified:stripe:pi_twice",
            debit=CLEARING,
            credit=CASE_B,
            amount=40_000,
            code=TransferCode.COLLECTION,
            requested_by="rail:stripe",
            metadata={"rail_reference": "pi_twice"},
        )
    )
    day_clock.set(MORNING_AFTER_NEXT - timedelta(days=1))
    result = reconciliation.run(DAY, by="finance-1")
    (item,) = reconciliation.store.items("CNY", DAY)
    assert item.kind is DifferenceKind.AMOUNT
    assert (item.reference, item.rail_amount, item.ledger_amount, item.difference) == (
        "pi_twice",
        40_000,
        80_000,
        -40_000,
    )
    assert set(item.transfers) == {"collection:pay-pi_twice", "unidentified:stripe:pi_twice"}
    assert len(item.rail_transactions) == 1
    assert "posted 2 times" in item.detail
    assert (result.matched, result.unexplained) == (2, 40_000)
    assert result.rail_net - result.ledger_rail_movement == item.difference
