"""A neighbouring day's lone side answers one movement only: money the ledger posted on the day
before and again on the day after, for one rail movement between them, leaves the second
posting shown; a side finance explained by hand is not taken; a failed run leaves both days
as they were or as the re-run completes them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService, TransferCode, TransferRequest
from chalicelib.reconciliation import (
    DayStatus,
    DifferenceKind,
    ItemStatus,
    ReconciliationService,
)
from chalicelib.reconciliation.errors import DayNotBalanced
from tests.reconciliation.conftest import CASE_A, CLEARING, BookingRail

BEFORE, DAY, AFTER = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
RAIL_AT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Beijing on the day
RUN_AT = datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
T1, T2 = "collection:pay-pi_X", "unidentified:stripe:pi_X"


def _posted(clock: FixedClock, ledger: LedgerService, transfer_id: str, on: date) -> None:
    clock.set(datetime(on.year, on.month, on.day, 2, 0, tzinfo=UTC))
    ledger.transfer(
        TransferRequest.between(
            id=transfer_id,
            debit=CLEARING,
            credit=CASE_A,
            amount=100,
            code=TransferCode.COLLECTION,
            requested_by="rail:stripe",
            metadata={"rail_reference": "pi_X"},
        )
    )


@pytest.fixture
def posted_twice(rail: BookingRail, ledger: LedgerService, day_clock: FixedClock) -> None:
    """The rail books pi_X once on the day; the ledger posts it the day before (T2) and the
    day after (T1), and nothing on the day itself."""
    _posted(day_clock, ledger, T2, BEFORE)
    rail.book("pi_X", 100, at=RAIL_AT)
    _posted(day_clock, ledger, T1, AFTER)
    day_clock.set(RUN_AT)


def _open(reconciliation: ReconciliationService) -> list[tuple[date, str, tuple[str, ...]]]:
    return [
        (day, item.kind.value, item.transfers)
        for day in (BEFORE, DAY, AFTER)
        for item in reconciliation.store.items("CNY", day)
        if item.status is ItemStatus.OPEN
    ]


@pytest.mark.parametrize(
    ("order", "left"),
    [((DAY, AFTER, BEFORE), (BEFORE, T2)), ((DAY, BEFORE, AFTER), (AFTER, T1))],
    ids=["day-after-first", "day-before-first"],
)
def test_one_rail_movement_answers_one_posting_and_the_second_stays_a_difference(
    posted_twice: None,
    reconciliation: ReconciliationService,
    order: tuple[date, date, date],
    left: tuple[date, str],
) -> None:
    for day in order:
        reconciliation.run(day, by="finance-1")
    day, transfer = left
    assert _open(reconciliation) == [(day, DifferenceKind.MISSING_AT_RAIL.value, (transfer,))]
    result, _ = reconciliation.day(day)
    assert (result.status, result.open_items, result.unexplained) == (DayStatus.OPEN, 1, 100)
    with pytest.raises(DayNotBalanced):
        reconciliation.close(day, by="finance-1")
    # the rail movement itself is explained once, by the posting it was paired with
    (rail,) = reconciliation.store.items("CNY", DAY)
    assert (rail.kind, rail.status) == (DifferenceKind.MISSING_IN_LEDGER, ItemStatus.RESOLVED)
    (other,) = {BEFORE, AFTER} - {day}
    assert (rail.other_day, rail.matched_with) == (other, (T1 if other == AFTER else T2,))

    # every day run again: the same items, the same figures
    before = {d: reconciliation.store.items("CNY", d) for d in (BEFORE, DAY, AFTER)}
    for again in (BEFORE, DAY, AFTER):
        reconciliation.run(again, by="finance-1")
    assert {d: reconciliation.store.items("CNY", d) for d in (BEFORE, DAY, AFTER)} == before
    assert [reconciliation.day(d)[0].status for d in (BEFORE, DAY, AFTER)] == [
        DayStatus.OPEN if d == day else DayStatus.BALANCED for d in (BEFORE, DAY, AFTER)
    ]


def test_a_side_finance_resolved_by_hand_does_not_explain_a_later_posting(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
) -> None:
    rail.book("pi_X", 100, at=RAIL_AT)
    _posted(day_clock, ledger, T1, AFTER)
    day_clock.set(RUN_AT)
    reconciliation.run(DAY, by="finance-1")
    reconciliation.resolve(DAY, "missing_in_ledger:pi_X", note="rail reversed", by="finance-2")

    assert reconciliation.run(AFTER, by="finance-1").status is DayStatus.OPEN
    (posting,) = reconciliation.store.items("CNY", AFTER)
    assert (posting.kind, posting.status, posting.transfers) == (
        DifferenceKind.MISSING_AT_RAIL,
        ItemStatus.OPEN,
        (T1,),
    )
    (kept,) = reconciliation.store.items("CNY", DAY)
    assert (kept.resolved_by, kept.note, kept.other_day) == ("finance-2", "rail reversed", None)


def test_a_run_that_fails_after_matching_leaves_both_days_consistent_and_the_rerun_completes(
    rail: BookingRail,
    ledger: LedgerService,
    reconciliation: ReconciliationService,
    day_clock: FixedClock,
    monkeypatch: Any,
) -> None:
    rail.book("pi_X", 100, at=RAIL_AT)
    _posted(day_clock, ledger, T1, AFTER)
    day_clock.set(RUN_AT)
    reconciliation.run(DAY, by="finance-1")

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("DynamoDB unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(ledger, "balances", unavailable)
        with pytest.raises(RuntimeError):
            reconciliation.run(AFTER, by="finance-1")

    # whatever the failed run left: a resolved side points at a record that exists
    for item in reconciliation.store.items("CNY", DAY):
        if item.other_day is not None:
            pair = reconciliation.store.item("CNY", item.other_day, "across_midnight:pi_X")
            assert (pair.other_day, pair.transfers) == (DAY, (T1,))

    assert reconciliation.run(AFTER, by="finance-1").status is DayStatus.BALANCED
    (kept,) = reconciliation.store.items("CNY", DAY)
    assert (kept.status, kept.other_day) == (ItemStatus.RESOLVED, AFTER)
    assert reconciliation.day(DAY)[0].status is DayStatus.BALANCED
    assert reconciliation.close(DAY, by="finance-2").status is DayStatus.CLOSED
    assert reconciliation.close(AFTER, by="finance-2").status is DayStatus.CLOSED
