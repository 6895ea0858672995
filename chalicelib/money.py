"""Money: integer fen with a currency, never a float.

The API takes an amount as integer fen (``12345``) or as a decimal yuan string (``"123.45"``);
JSON numbers with a fraction, floats, negative and non-finite values are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator

CURRENCIES = frozenset({"CNY"})
DEFAULT_CURRENCY = "CNY"
MAX_FEN = 10**15  # a trillion yuan: far above any case, far below float and DynamoDB limits

_YUAN_TEXT = re.compile(r"^(0|[1-9][0-9]{0,12})(?:\.([0-9]{1,2}))?$")


class AmountError(ValueError):
    """The value is not an acceptable amount of money."""


def parse_fen(value: Any, *, allow_zero: bool = False) -> int:
    """Read an amount in fen from API input: an integer, or a decimal yuan string."""
    if isinstance(value, bool):
        raise AmountError('an amount is integer fen or a decimal string such as "123.45"')
    if isinstance(value, int):
        fen = value
    elif isinstance(value, str):
        match = _YUAN_TEXT.match(value.strip())
        if not match:
            raise AmountError(
                'a decimal amount is yuan with at most two decimals, such as "123.45"'
            )
        whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
        fen = int(whole) * 100 + int(frac)
    elif isinstance(value, (float, Decimal)):
        raise AmountError(
            'amounts are integer fen or a decimal string such as "123.45", never a float'
        )
    else:
        raise AmountError('an amount is integer fen or a decimal string such as "123.45"')
    if fen < 0:
        raise AmountError("an amount cannot be negative")
    if fen == 0 and not allow_zero:
        raise AmountError("an amount must be greater than zero")
    if fen > MAX_FEN:
        raise AmountError("the amount is larger than the system accepts")
    return fen


def _positive_fen(value: Any) -> int:
    return parse_fen(value)


def _fen_or_zero(value: Any) -> int:
    return parse_fen(value, allow_zero=True)


# Pydantic field types for request bodies.
PositiveFen = Annotated[int, BeforeValidator(_positive_fen)]
FenOrZero = Annotated[int, BeforeValidator(_fen_or_zero)]


def check_currency(currency: str) -> str:
    if currency not in CURRENCIES:
        raise AmountError(f"currency {currency!r} is not accepted; use one of {sorted(CURRENCIES)}")
    return currency


@dataclass(frozen=True, order=True)
class Money:
    """An amount in fen of one currency."""

    fen: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if isinstance(self.fen, bool) or not isinstance(self.fen, int):
            raise AmountError("Money holds integer fen")
        check_currency(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.fen + other.fen, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.fen - other.fen, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise AmountError(f"cannot combine {self.currency} with {other.currency}")

    def as_dict(self) -> dict[str, Any]:
        return {"fen": self.fen, "currency": self.currency, "yuan": format_yuan(self.fen)}


def format_yuan(fen: int, *, grouped: bool = False) -> str:
    """Fen as a yuan string with two decimals: 12345 -> '123.45', -5 -> '-0.05'; grouped in
    thousands for people to read (300000 -> '3,000.00'), as the pages and receipts show it."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{frac:02d}" if grouped else f"{sign}{whole}.{frac:02d}"
