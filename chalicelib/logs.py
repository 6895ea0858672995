"""Logging that never writes personal data.

Services never log request bodies, ID numbers or phone numbers; this filter is the second line
of defence: whatever reaches a log record is masked if it looks like a resident ID number, a
unified social credit code or a mainland mobile number.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    # Resident ID numbers (18 characters, last may be X) and unified social credit codes.
    re.compile(r"(?<![0-9A-Z])([0-9A-Z]{4})[0-9A-Z]{10}([0-9A-Z]{3}[0-9X])(?![0-9A-Z])"),
    # Mainland mobile numbers.
    re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"),
)


def mask_text(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    return _PATTERNS[1].sub(lambda m: m.group(1) + "****" + m.group(2), text)


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure() -> None:
    """Install the filter on every handler of the root logger (idempotent)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
            handler.addFilter(PersonalDataFilter())
