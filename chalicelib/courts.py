"""Courts as the product names them: province codes, court codes, and the court a case account
number was issued for (its first six digits are the court's region)."""

from __future__ import annotations

# GB/T 2260 province codes, by the one-character abbreviation used in case numbers.
PROVINCES: dict[str, str] = {
    "京": "11", "津": "12", "冀": "13", "晋": "14", "蒙": "15", "辽": "21", "吉": "22",
    "黑": "23", "沪": "31", "苏": "32", "浙": "33", "皖": "34", "闽": "35", "赣": "36",
    "鲁": "37", "豫": "41", "鄂": "42", "湘": "43", "粤": "44", "桂": "45", "琼": "46",
    "渝": "50", "川": "51", "贵": "52", "云": "53", "藏": "54", "陕": "61", "甘": "62",
    "青": "63", "宁": "64", "新": "65",
}  # fmt: skip

_BY_CODE = {code: name for name, code in PROVINCES.items()}
ACCOUNT_DIGITS = 16


def court_region_digits(court_code: str) -> str:
    """Six digits for a court: province code, then the court's digits padded with zeros."""
    return PROVINCES[court_code[0]] + court_code[1:].ljust(4, "0")


def court_of_account(account_id: str) -> str | None:
    """The court a case account number was issued for (the inverse of
    ``court_region_digits``); ``None`` for anything that is not a case account number, such as
    the system accounts every court shares."""
    if len(account_id) != ACCOUNT_DIGITS or not account_id.isdigit():
        return None
    province = _BY_CODE.get(account_id[:2])
    if province is None:
        return None
    court = account_id[2:6]
    while court.endswith("00"):
        court = court[:-2]
    return province + court
