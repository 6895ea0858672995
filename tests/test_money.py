"""Money is integer fen; the API also reads decimal yuan strings, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.money import AmountError, Money, format_yuan, parse_fen


@pytest.mark.parametrize(
    ("value", "fen"), [(1, 1), (12345, 12345), ("123.45", 12345), ("0.5", 50), ("7", 700)]
)
def test_amounts_read_as_fen(value: object, fen: int) -> None:
    assert parse_fen(value) == fen


@pytest.mark.parametrize(
    "value", [1.5, Decimal("1.0"), True, -1, 0, "1.234", "-1", "1e3", "NaN", "", None, "１２"]
)
def test_bad_amounts_are_refused(value: object) -> None:
    with pytest.raises(AmountError):
        parse_fen(value)


def test_zero_only_where_allowed() -> None:
    assert parse_fen(0, allow_zero=True) == 0


def test_money_keeps_one_currency() -> None:
    assert Money(150) + Money(50) == Money(200)
    with pytest.raises(AmountError):
        Money(1, "USD")
    with pytest.raises(AmountError):
        Money(1.0)  # type: ignore[arg-type]
    assert format_yuan(-5) == "-0.05"
    assert format_yuan(1234567) == "12345.67"
