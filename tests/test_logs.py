"""The log filter masks ID numbers and phone numbers that slip into a message."""

from __future__ import annotations

import logging

from chalicelib.logs import PersonalDataFilter, mask_text


def test_mask_text_hides_ids_codes_and_phones() -> None:
    text = "id 11010519491231002X code 91350100M000100Y43 phone 13812345678 amount 12345"
    masked = mask_text(text)
    assert "11010519491231002X" not in masked
    assert "1101**********002X" in masked
    assert "9135**********0Y43" in masked
    assert "138****5678" in masked
    assert "amount 12345" in masked


def test_filter_rewrites_the_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "caller %s", ("13812345678",), None)
    PersonalDataFilter().filter(record)
    assert record.getMessage() == "caller 138****5678"
