"""Case numbers, account numbers and ID numbers: each refuses a mistyped value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.cases import identifiers as ids


def test_case_number_accepts_court_format_and_full_width_brackets() -> None:
    number = ids.parse_case_number("（2026）粤0604执1234号")
    assert (number.year, number.court_code, number.kind, number.serial) == (
        2026,
        "粤0604",
        "执",
        1234,
    )
    assert str(number) == "(2026)粤0604执1234号"
    assert ids.parse_case_number("(2025)京01执恢12号").kind == "执恢"


@pytest.mark.parametrize(
    "text",
    ["2026粤0604执1234号", "(2026)XX0604执1234号", "(2026)粤0604民1234号", "(2026)粤0604执0号", ""],
)
def test_case_number_refuses_other_formats(text: str) -> None:
    with pytest.raises(ValueError, match="case number"):
        ids.parse_case_number(text)


def test_account_number_is_16_digits_with_region_year_and_check_digit() -> None:
    number = ids.make_account_number("粤0604", 2026, 1234)
    assert number.startswith("44060426")
    assert len(number) == 16
    assert ids.damm_digit(number) == 0
    assert ids.group_account_number(number) == " ".join(
        [number[:4], number[4:8], number[8:12], number[12:]]
    )
    assert ids.normalise_account_number(ids.group_account_number(number)) == number


@given(
    serial=st.integers(1, ids.MAX_ACCOUNT_SERIAL),
    position=st.integers(0, 15),
    delta=st.integers(1, 9),
)
def test_any_single_mistyped_digit_is_refused(serial: int, position: int, delta: int) -> None:
    number = ids.make_account_number("粤0604", 2026, serial)
    wrong = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    with pytest.raises(ValueError, match="mistyped"):
        ids.normalise_account_number(wrong)


@given(serial=st.integers(1, ids.MAX_ACCOUNT_SERIAL), position=st.integers(0, 14))
def test_any_swap_of_adjacent_digits_is_refused(serial: int, position: int) -> None:
    number = ids.make_account_number("粤0604", 2026, serial)
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(ValueError, match="mistyped"):
        ids.normalise_account_number(swapped)


@pytest.mark.parametrize("text", ["12345", "4406 0426 0001 234X", "44060426000123433"])
def test_account_number_of_wrong_shape_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="account number"):
        ids.normalise_account_number(text)


def test_resident_id_check_character() -> None:
    assert ids.check_resident_id("11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValueError, match="mistyped"):
        ids.check_resident_id("110105194912310021")


def test_credit_code_check_character() -> None:
    assert ids.check_credit_code("91350100M000100Y43") == "91350100M000100Y43"
    with pytest.raises(ValueError, match="mistyped"):
        ids.check_credit_code("91350100M000100Y44")


def test_phone_accepts_mainland_mobile_only() -> None:
    assert ids.check_phone("+86 138-1234-5678") == "13812345678"
    with pytest.raises(ValueError, match="mobile"):
        ids.check_phone("02012345678")
