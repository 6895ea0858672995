"""Matching as both sides stream past: a reference is held only until its other side arrives,
so a sound day holds a handful whatever its size, and every difference is still found."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib.collection.rail import BalanceKind, RailBalanceTransaction
from chalicelib.reconciliation.matching import (
    MATCHED_ACROSS_MIDNIGHT,
    LedgerMovement,
    Matcher,
    Recheck,
)
from chalicelib.reconciliation.models import DifferenceKind, ItemStatus, ReconciliationItem

DAY = date(2026, 11, 2)
AT = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)


def charge(n: int, amount: int, currency: str = "CNY") -> RailBalanceTransaction:
    return RailBalanceTransaction(
        id=f"txn_{n}",
        kind=BalanceKind.CHARGE,
        reference=f"pi_{n}",
        amount=amount,
        fee=0,
        currency=currency,
        created_at=AT + timedelta(seconds=n),
    )


def posted(n: int, amount: int, currency: str = "CNY", transfer: str = "") -> LedgerMovement:
    return LedgerMovement(
        transfer_id=transfer or f"rail:stripe:pi_{n}",
        reference=f"pi_{n}",
        amount=amount,
        currency=currency,
        at=AT + timedelta(seconds=n, milliseconds=300),
    )


def test_a_sound_day_holds_a_handful_of_references_whatever_its_size() -> None:
    for size in (100, 2_000):
        matcher = Matcher(DAY, "CNY")
        for n in range(size):
            matcher.rail(charge(n, 1_000 + n))
            matcher.ledger(posted(n, 1_000 + n))
        outcome = matcher.finish()
        assert (outcome.matched, outcome.items, matcher.most_waiting) == (size, [], 1)


def test_each_difference_is_found_once_the_day_has_passed() -> None:
    matcher = Matcher(DAY, "CNY")
    matcher.rail(charge(1, 5_000))  # no transfer
    matcher.ledger(posted(2, 3_000))  # no rail movement
    matcher.rail(charge(3, 2_000))
    matcher.ledger(posted(3, 1_999))  # one fen off
    matcher.rail(charge(4, 700, currency="USD"))
    matcher.ledger(posted(4, 700))  # booked in another currency
    matcher.rail(charge(5, 900, currency="USD"))  # another currency's own run
    matcher.rail(charge(6, 400))
    matcher.ledger(posted(6, 400))
    matcher.ledger(posted(6, 400, transfer="collection:twice"))  # posted twice
    outcome = matcher.finish()
    found = {(i.kind, i.reference, i.difference) for i in outcome.items}
    assert found == {
        (DifferenceKind.MISSING_IN_LEDGER, "pi_1", 5_000),
        (DifferenceKind.MISSING_AT_RAIL, "pi_2", -3_000),
        (DifferenceKind.AMOUNT, "pi_3", 1),
        (DifferenceKind.CURRENCY, "pi_4", 0),
        # alone at the end of the stream: the second look tells the two apart
        (DifferenceKind.MISSING_AT_RAIL, "pi_6", -400),
    }
    assert outcome.alone_in_ledger == {"pi_2", "pi_6"}
    assert outcome.matched == 1


def test_money_posted_twice_under_one_reference_is_an_amount_difference_naming_both() -> None:
    day = [charge(5, 900), posted(5, 900), charge(6, 400), posted(6, 400)]
    day += [posted(6, 400, transfer="collection:twice"), posted(2, 3_000)]
    first = Matcher(DAY, "CNY")
    for movement in day:
        if isinstance(movement, LedgerMovement):
            first.ledger(movement)
        else:
            first.rail(movement)
    alone = first.finish().alone_in_ledger
    recheck = Recheck(DAY, "CNY", alone)
    for movement in day:
        if isinstance(movement, LedgerMovement):
            recheck.ledger(movement)
        else:
            recheck.rail(movement)
    found = {i.reference: i for i in recheck.finish().items}
    assert set(found) == {"pi_2", "pi_6"}
    twice = found["pi_6"]
    assert (twice.kind, twice.rail_amount, twice.ledger_amount, twice.difference) == (
        DifferenceKind.AMOUNT,
        400,
        800,
        -400,
    )
    assert twice.transfers == ("rail:stripe:pi_6", "collection:twice")
    assert twice.rail_transactions == ("txn_6",)
    assert "posted 2 times" in twice.detail
    assert "rail:stripe:pi_6" in twice.detail
    assert "collection:twice" in twice.detail
    assert found["pi_2"].kind is DifferenceKind.MISSING_AT_RAIL  # never at the rail at all


def _lone(
    kind: DifferenceKind, n: int, *, rail: int | None, ledger: int | None
) -> ReconciliationItem:
    return ReconciliationItem(
        item_id=f"{kind.value}:pi_{n}",
        day=DAY - timedelta(days=1),
        currency="CNY",
        kind=kind,
        reference=f"pi_{n}",
        rail_amount=rail,
        ledger_amount=ledger,
        difference=(rail or 0) - (ledger or 0),
        detail="alone that day",
        rail_transactions=(f"txn_{n}",) if rail is not None else (),
        transfers=(f"rail:stripe:pi_{n}",) if ledger is not None else (),
    )


def test_a_lone_side_that_answers_the_day_before_is_matched_across_midnight() -> None:
    before = [
        _lone(DifferenceKind.MISSING_IN_LEDGER, 1, rail=5_000, ledger=None),
        _lone(DifferenceKind.MISSING_AT_RAIL, 2, rail=None, ledger=3_000),
        _lone(DifferenceKind.MISSING_IN_LEDGER, 3, rail=2_000, ledger=None),
    ]
    matcher = Matcher(DAY, "CNY", neighbours=before)
    matcher.ledger(posted(1, 5_000))  # the rail booked it at 23:59 the day before
    matcher.rail(charge(2, 3_000))  # the ledger moved it at 23:59 the day before
    matcher.ledger(posted(3, 1_999))  # answers the day before, but not exactly
    matcher.rail(charge(4, 700))
    matcher.ledger(posted(4, 700))  # a pair of the day itself is not disturbed
    outcome = matcher.finish()
    assert outcome.matched == 3
    pairs = {pair.here.reference: pair for pair in outcome.across}
    assert set(pairs) == {"pi_1", "pi_2"}
    assert pairs["pi_1"].there.item_id == "missing_in_ledger:pi_1"
    here = pairs["pi_1"].here
    assert (here.kind, here.ledger_amount, here.difference, here.other_day) == (
        DifferenceKind.ACROSS_MIDNIGHT,
        5_000,
        -5_000,
        DAY - timedelta(days=1),
    )
    assert pairs["pi_2"].here.rail_transactions == ("txn_2",)
    (left,) = outcome.items
    assert (left.kind, left.reference, left.difference) == (
        DifferenceKind.MISSING_AT_RAIL,
        "pi_3",
        -1_999,
    )


def test_sides_that_agree_only_together_are_matched_once_they_do() -> None:
    matcher = Matcher(DAY, "CNY")
    refund = RailBalanceTransaction(
        id="txn_r",
        kind=BalanceKind.REFUND,
        reference="pi_7",
        amount=-300,
        fee=0,
        currency="CNY",
        created_at=AT,
    )
    matcher.ledger(posted(7, -300, transfer="refund-1-1"))
    matcher.rail(charge(7, 1_000))
    matcher.ledger(posted(7, 1_000))
    matcher.rail(refund)
    outcome = matcher.finish()
    assert (outcome.matched, outcome.items) == (1, [])


def test_a_neighbours_side_already_paired_answers_only_the_same_side_of_the_same_day() -> None:
    paired = _lone(DifferenceKind.MISSING_IN_LEDGER, 1, rail=5_000, ledger=None).model_copy(
        update={
            "status": ItemStatus.RESOLVED,
            "resolved_by": MATCHED_ACROSS_MIDNIGHT,
            "other_day": DAY,
            "matched_with": ("rail:stripe:pi_1",),
        }
    )
    by_hand = _lone(DifferenceKind.MISSING_IN_LEDGER, 2, rail=3_000, ledger=None).model_copy(
        update={"status": ItemStatus.RESOLVED, "resolved_by": "finance-2", "note": "reversed"}
    )
    again = Matcher(DAY, "CNY", neighbours=[paired, by_hand])
    again.ledger(posted(1, 5_000))  # the day's re-run: the same transfer as before
    again.ledger(posted(2, 3_000))
    outcome = again.finish()
    assert [pair.here.reference for pair in outcome.across] == ["pi_1"]
    assert [(i.kind, i.reference) for i in outcome.items] == [
        (DifferenceKind.MISSING_AT_RAIL, "pi_2")
    ]

    other = Matcher(DAY, "CNY", neighbours=[paired])
    other.ledger(posted(1, 5_000, transfer="collection:pay-pi_1"))  # another posting
    (alone,) = other.finish().items
    assert (alone.kind, alone.transfers) == (
        DifferenceKind.MISSING_AT_RAIL,
        ("collection:pay-pi_1",),
    )

    settled = Matcher(
        DAY,
        "CNY",
        neighbours=[paired.model_copy(update={"status": ItemStatus.OPEN})],
        settled=["pi_1"],
    )
    settled.ledger(posted(1, 5_000))
    assert settled.finish().across == []
