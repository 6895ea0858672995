"""Matching as both sides stream past: a reference is held only until its other side arrives,
so a sound day holds a handful whatever its size, and every difference is still found."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib.collection.rail import BalanceKind, RailBalanceTransaction
from chalicelib.reconciliation.matching import LedgerMovement, Matcher
from chalicelib.reconciliation.models import DifferenceKind

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
        (DifferenceKind.MISSING_AT_RAIL, "pi_6", -400),
    }
    assert outcome.matched == 1


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
