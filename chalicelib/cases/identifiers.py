"""The identifiers court staff type and read out: case numbers, case account numbers, ID numbers.

Every one of them carries a check that refuses a mistyped value before it reaches storage.
Each is first folded to its NFKC form, so full-width digits, letters and brackets typed on a
Chinese keyboard (``粤０６０４``, ``（２０２６）``) are the same value as the ASCII ones and
the same case or person is one record; the patterns then accept ASCII digits only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chalicelib.courts import PROVINCES, court_region_digits

# Case type characters used on enforcement case numbers: 执 (enforcement), 执恢 (resumed),
# 执保 (preservation), 执异 (objection), 执复 (review), 执监 (supervision), 执协 (assistance).
_CASE_NUMBER = re.compile(
    r"^\((?P<year>\d{4})\)"
    r"(?P<court>[" + "".join(PROVINCES) + r"]\d{0,4})"
    r"(?P<kind>执(?:恢|保|异|复|监|协)?)"
    r"(?P<serial>[1-9]\d{0,5})号$",
    re.ASCII,
)
_COURT_CODE = re.compile(r"^[" + "".join(PROVINCES) + r"](\d{2}|\d{4})?$", re.ASCII)
# A court's name: Chinese characters ending in 法院 (人民法院, 中级人民法院, 海事法院 ...).
_COURT_NAME = re.compile(r"^[\u4e00-\u9fff]{2,40}法院$")


def fold(text: str) -> str:
    """The NFKC form: full-width ``０``, ``Ａ`` and ``（`` become ``0``, ``A`` and ``(``."""
    return unicodedata.normalize("NFKC", text) if isinstance(text, str) else text


@dataclass(frozen=True)
class CaseNumber:
    """A court case number such as ``(2026)粤0604执1234号``."""

    year: int
    court_code: str
    kind: str
    serial: int

    def __str__(self) -> str:
        return f"({self.year}){self.court_code}{self.kind}{self.serial}号"


def parse_case_number(text: str) -> CaseNumber:
    """Read a case number, accepting full-width brackets and stray spaces."""
    normal = fold(text).strip().replace(" ", "").replace("〔", "(")
    normal = normal.replace("〕", ")")
    match = _CASE_NUMBER.match(normal)
    if not match:
        raise ValueError(
            "a case number looks like (2026)粤0604执1234号: year in brackets, court code, "
            "case type 执, serial number, 号"
        )
    year = int(match["year"])
    if not 1990 <= year <= 2100:
        raise ValueError(f"the year {year} in the case number is out of range")
    return CaseNumber(year, match["court"], match["kind"], int(match["serial"]))


def mask_case_number(text: str) -> str:
    """``(2026)粤0604执1234号`` -> ``(2026)粤0604执**34号``: enough for a payer to recognise the
    case on the public page, not enough to find it elsewhere."""
    number = parse_case_number(text)
    serial = str(number.serial)
    shown = mask_middle(serial, keep_start=0, keep_end=2) if len(serial) > 2 else "*" * len(serial)
    return f"({number.year}){number.court_code}{number.kind}{shown}号"


def check_court_code(code: str) -> str:
    code = fold(code).strip()
    if not _COURT_CODE.match(code):
        raise ValueError("a court code is a province abbreviation and 2 or 4 digits, e.g. 粤0604")
    return code


def check_court_name(name: str) -> str:
    """A court's full name as printed on its notices, e.g. 佛山市禅城区人民法院."""
    if not _COURT_NAME.match(name):
        raise ValueError("a court name is the court's name in Chinese, ending in 法院")
    return name


# --- Case account numbers (一案一账号) -----------------------------------------------------
# 16 digits: court region (6) + year (2) + serial (7) + a Damm check digit (1). The Damm
# algorithm catches every single-digit mistake and every swap of two adjacent digits.

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
ACCOUNT_NUMBER_LENGTH = 16
MAX_ACCOUNT_SERIAL = 9_999_999


def damm_digit(digits: str) -> int:
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return interim


def make_account_number(court_code: str, year: int, serial: int) -> str:
    if not 1 <= serial <= MAX_ACCOUNT_SERIAL:
        raise ValueError("the account serial for this court and year is exhausted")
    body = f"{court_region_digits(court_code)}{year % 100:02d}{serial:07d}"
    return body + str(damm_digit(body))


def normalise_account_number(text: str) -> str:
    """Digits only: people type the number with spaces or dashes between groups."""
    digits = re.sub(r"[\s\-]", "", fold(text))
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("a case account number has digits only")
    if len(digits) != ACCOUNT_NUMBER_LENGTH:
        raise ValueError(
            f"a case account number has {ACCOUNT_NUMBER_LENGTH} digits; this has {len(digits)}"
        )
    if damm_digit(digits) != 0:
        raise ValueError("this case account number is mistyped: its check digit does not match")
    return digits


def group_account_number(digits: str) -> str:
    """``4406042600012347`` -> ``4406 0426 0001 2347``, the way it is printed and read out."""
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


# --- Personal and organisation identifiers ---------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")


def check_resident_id(value: str) -> str:
    """A mainland resident ID number (GB 11643): 17 digits and a MOD 11-2 check character."""
    value = fold(value).strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        raise ValueError("a resident ID number has 17 digits and a final digit or X")
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        raise ValueError("this resident ID number is mistyped: its check character does not match")
    return value


def check_credit_code(value: str) -> str:
    """A unified social credit code (GB 32100): 18 characters with a MOD 31 check character."""
    value = fold(value).strip().upper()
    if len(value) != 18 or any(c not in _USCC_ALPHABET for c in value):
        raise ValueError("a unified social credit code has 18 digits and capital letters")
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(value[:17], _USCC_WEIGHTS, strict=True))
    if _USCC_ALPHABET[(31 - total % 31) % 31] != value[17]:
        raise ValueError("this credit code is mistyped: its check character does not match")
    return value


def check_phone(value: str) -> str:
    value = re.sub(r"[\s\-]", "", fold(value)).removeprefix("+86")
    if not _PHONE.match(value):
        raise ValueError("a phone number is an 11-digit mainland mobile number")
    return value


def mask_middle(value: str, *, keep_start: int, keep_end: int) -> str:
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + value[len(value) - keep_end :]
