"""Logs as JSON lines (Powertools Logger) that carry the request's id and never personal data.

Every record, ours or a library's, leaves through one handler whose formatter masks resident ID
numbers, unified social credit codes, mainland mobile numbers (``13812345678``,
``+86 138 1234 5678``, ``0086-138-1234-5678`` ...) and bank account numbers in the whole
output: the message, extra fields and the traceback. Services never log request bodies or
parties' details; the formatter is the second line of defence. The middleware adds the API
Gateway request id as ``correlation_id`` (the same id every problem document carries) and the
``case_id`` / ``payment_id`` of the path where the route has one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

SERVICE = "court-funds"
PATH_KEYS = ("case_id", "payment_id")  # path parameters worth finding a request's lines by

# Resident ID numbers (18 characters, the last may be X) and unified social credit codes.
_IDENTITY = re.compile(r"(?<![0-9A-Z])([0-9A-Z]{4})[0-9A-Z]{10}([0-9A-Z]{3}[0-9X])(?![0-9A-Z])")
# Mainland mobiles, with or without +86 / 0086 / 86 and spaces or hyphens between the groups.
_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
# Bank account and card numbers: 13 to 25 digits, maybe grouped by spaces or hyphens.
_ACCOUNT = re.compile(r"(?<![\d*])\d(?:[ -]?\d){12,24}(?!\d)")
# Identifiers that carry no personal data but may hold long runs of digits: request and record
# ids (UUIDs, whose hyphenated digit groups would otherwise read as an account number) and the
# rail's object ids (``pi_3N...``, ``evt_...``: a known prefix and a random tail that has letters).
# They are kept whole so a log line can be found by the id its problem document or the rail's
# dashboard shows. Anything else shaped like ``word_digits`` (``id_110101...``) is masked as usual.
_RAIL_PREFIXES = "pi|pm|ch|re|po|tr|txn|evt|acct|obp|ibt|fa|ba|cus|seti|py|src|whsec"
_IDENTIFIER = re.compile(
    r"(?<![0-9A-Za-z_])(?:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
    rf"|(?:{_RAIL_PREFIXES})_(?:test_|live_)?(?=[0-9A-Za-z]*[A-Za-z])[0-9A-Za-z]{{14,}})"
    r"(?![0-9A-Za-z_])"
)


def _last_four(match: re.Match[str]) -> str:
    return "****" + re.sub(r"\D", "", match.group(0))[-4:]


def mask_text(text: str) -> str:
    """The text with every ID number, mobile number and bank account number masked; request,
    record and rail ids are left whole."""
    pieces: list[str] = []
    start = 0
    for match in _IDENTIFIER.finditer(text):
        pieces.extend((_mask_personal(text[start : match.start()]), match.group(0)))
        start = match.end()
    pieces.append(_mask_personal(text[start:]))
    return "".join(pieces)


def _mask_personal(text: str) -> str:
    text = _IDENTITY.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    text = _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
    return _ACCOUNT.sub(_last_four, text)


def mask_value(value: Any) -> Any:
    """A log field with its personal data masked, whatever its shape."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        masked = mask_text(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return mask_text(str(value))


def _masked_json(log: Mapping[str, object]) -> str:
    return json.dumps(mask_value(dict(log)), separators=(",", ":"), ensure_ascii=False, default=str)


@cache
def configure() -> Logger:
    """Send every record through the masking JSON handler (once); returns the logger."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    formatter = LambdaPowertoolsFormatter(json_serializer=_masked_json, utc=True, service=SERVICE)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    logger = Logger(service=SERVICE, logger_handler=handler, logger_formatter=formatter)
    logging.getLogger(SERVICE).propagate = False  # its records already went through the handler
    root = logging.getLogger()
    # The Lambda runtime's plain-text handler would print each record a second time, unmasked;
    # pytest's capture handlers stay.
    root.handlers = [h for h in root.handlers if type(h).__module__.startswith("_pytest")]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("stripe").setLevel(logging.WARNING)  # it logs every request at INFO
    logging.setLogRecordFactory(_masking(logging.getLogRecordFactory()))
    return logger


def _masking(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """Records whose message is masked as they are made, so that every handler (a test's
    capture, the runtime's) sees the masked text, not only the JSON handler's output."""

    def make_masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record  # a malformed call: logging reports it when the record is emitted
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    return make_masked


def request_id(event: Any) -> str | None:
    """API Gateway's id of this request (what a caller quotes from a problem document), or the
    Lambda invocation's id for a schedule."""
    context = getattr(event, "context", None)
    if isinstance(context, dict) and context.get("requestId"):
        return str(context["requestId"])
    invocation = getattr(event, "lambda_context", None) or context
    found = getattr(invocation, "aws_request_id", None)  # chalice local has no API Gateway id
    return str(found) if found else None


def log_context(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware: every line logged while handling ``event`` carries its ids."""
    logger = configure()
    params = getattr(event, "uri_params", None) or {}
    keys: dict[str, Any] = {key: params[key] for key in PATH_KEYS if params.get(key)}
    logger.append_keys(correlation_id=request_id(event), **keys)
    try:
        return get_response(event)
    finally:
        logger.remove_keys(["correlation_id", *keys])
