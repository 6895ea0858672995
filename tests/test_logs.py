"""Logs are JSON lines with the request's id, and personal data never reaches them: not in the
message, not in an extra field, not in a traceback."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.logs import SERVICE, configure, log_context, mask_text

ID_NUMBER = "11010519491231002X"
PHONES = (
    "13812345678",
    "+8613812345678",
    "+86 138 1234 5678",
    "0086-138-1234-5678",
    "86 13812345678",
    "138-1234-5678",
)
CARD = "6222021234567890123"


def test_mask_text_hides_ids_codes_and_phones() -> None:
    text = "id 11010519491231002X code 91350100M000100Y43 phone 13812345678 amount 12345"
    masked = mask_text(text)
    assert "11010519491231002X" not in masked
    assert "1101**********002X" in masked
    assert "9135**********0Y43" in masked
    assert "138****5678" in masked
    assert "amount 12345" in masked


@pytest.mark.parametrize("phone", PHONES)
def test_every_form_of_a_mainland_mobile_is_masked(phone: str) -> None:
    masked = mask_text(f"caller {phone} rang")
    assert masked == "caller 138****5678 rang"


@pytest.mark.parametrize("account", [CARD, "6222 0212 3456 7890 123", "6222-0212-3456-7890"])
def test_bank_account_numbers_keep_only_their_last_four_digits(account: str) -> None:
    masked = mask_text(f"to {account} now")
    digits = "".join(c for c in account if c.isdigit())
    assert masked == f"to ****{digits[-4:]} now"


def test_amounts_dates_and_request_ids_are_left_alone() -> None:
    text = "paid 1234567 fen on 2026-11-28 request c6af9ac6-7b61-11e6-9a41-93e812345678"
    assert mask_text(text) == text


def _ids(alphabet: str) -> st.SearchStrategy[str]:
    groups = [st.text(alphabet, min_size=n, max_size=n) for n in (8, 4, 4, 4, 12)]
    return st.tuples(*groups).map("-".join)


# Request ids are UUIDs; the all-digit ones are where a hyphenated group could read as a card.
@given(st.uuids().map(str) | _ids("0123456789") | _ids("0123456789abcdef"))
def test_every_request_id_is_left_whole(request_id: str) -> None:
    text = f"unexpected error request_id={request_id} to {CARD}"
    assert mask_text(text) == f"unexpected error request_id={request_id} to ****0123"


@given(
    st.sampled_from(["pi", "evt", "ch", "re", "po", "txn"]),
    st.text("0123456789aZ", min_size=14).filter(lambda tail: not tail.isdigit()),
)
def test_rail_object_ids_are_left_whole(prefix: str, body: str) -> None:
    text = f"intent {prefix}_{body} succeeded for 13812345678"
    assert mask_text(text) == f"intent {prefix}_{body} succeeded for 138****5678"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("account_no_6222020200112233445", "account_no_****3445"),
        ("id_110101199003071234", "id_1101**********1234"),
        ("name_11010119900307123X", "name_1101**********123X"),
        ("pi_6222020200112233445", "pi_****3445"),  # no letter: not the rail's random tail
    ],
)
def test_numbers_shaped_like_ids_are_still_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_personal_data_next_to_an_id_is_still_masked() -> None:
    text = f"c6af9ac6-7b61-11e6-9a41-93e812345678 {ID_NUMBER},13812345678;{CARD}"
    assert mask_text(text) == (
        "c6af9ac6-7b61-11e6-9a41-93e812345678 1101**********002X,138****5678;****0123"
    )


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the masking handler writes, captured."""
    handler = configure().logger_handler
    assert isinstance(handler, logging.StreamHandler)
    assert handler in logging.getLogger().handlers
    captured = io.StringIO()
    original = handler.setStream(captured)
    try:
        yield captured
    finally:
        handler.setStream(original)


def records(captured: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.getvalue().splitlines()]


def test_a_log_line_is_json_with_the_service(lines: io.StringIO) -> None:
    logging.getLogger("chalicelib.collection.service").info("webhook acted on")
    (line,) = records(lines)
    assert line["message"] == "webhook acted on"
    assert line["service"] == SERVICE
    assert line["level"] == "INFO"


def test_messages_extra_fields_and_tracebacks_are_masked(lines: io.StringIO) -> None:
    log = logging.getLogger("chalicelib.cases.service")
    log.info("party %s phone %s", ID_NUMBER, "+86 138 1234 5678", extra={"payee": CARD})
    try:
        raise ValueError(f"bad party {ID_NUMBER} at {PHONES[1]}")
    except ValueError:
        log.exception("filing failed")
    output = lines.getvalue()
    for secret in (ID_NUMBER, CARD, "1234 5678", "13812345678"):
        assert secret not in output
    first, second = records(lines)
    assert first["message"] == "party 1101**********002X phone 138****5678"
    assert first["payee"] == "****0123"
    assert "1101**********002X" in second["exception"]
    assert "138****5678" in second["exception"]


def test_the_stripe_sdk_logs_warnings_only(lines: io.StringIO) -> None:
    logging.getLogger("stripe").info("Request to Stripe api")
    logging.getLogger("stripe").warning("Stripe is slow")
    assert [line["message"] for line in records(lines)] == ["Stripe is slow"]


class ApiRequest:
    """What Chalice hands middleware for an API Gateway request."""

    def __init__(self, request_id: str, uri_params: dict[str, str]) -> None:
        self.context = {"requestId": request_id}
        self.uri_params = uri_params


def test_lines_logged_in_a_request_carry_its_id_and_the_case(lines: io.StringIO) -> None:
    event = ApiRequest("c6af9ac6-7b61-11e6-9a41-93e8deadbeef", {"case_id": "case-1"})

    def handle(_: Any) -> str:
        logging.getLogger("chalicelib.cases.service").info("status changed")
        return "answer"

    assert log_context(event, handle) == "answer"
    logging.getLogger("chalicelib.cases.service").info("after the request")
    during, after = records(lines)
    assert during["correlation_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert during["case_id"] == "case-1"
    assert "correlation_id" not in after
    assert "case_id" not in after


class BrokenVerifier:
    def verify(self, header: str | None) -> Any:
        raise RuntimeError(f"directory lookup failed for {ID_NUMBER}")


def test_an_unexpected_failure_logs_its_masked_trace_under_the_problem_documents_id(
    aws: Any, lines: io.StringIO
) -> None:
    """Through the deployed entry point: an API Gateway event straight into the app."""
    from app import app
    from chalicelib import wiring

    wiring.override(token_verifier=BrokenVerifier())
    event = {
        "resource": "/cases/{case_id}",
        "path": "/cases/case-7",
        "httpMethod": "GET",
        "headers": {"Authorization": "Bearer a-token"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"case_id": "case-7"},
        "stageVariables": None,
        "requestContext": {
            "requestId": "gw-request-1",
            "resourcePath": "/cases/{case_id}",
            "httpMethod": "GET",
            "path": "/api/cases/case-7",
        },
        "body": None,
        "isBase64Encoded": False,
    }

    class Invocation:
        aws_request_id = "lambda-invocation-1"

    response = app(event, Invocation())
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["request_id"] == "gw-request-1"
    (line,) = [line for line in records(lines) if line["level"] == "ERROR"]
    assert line["correlation_id"] == "gw-request-1"
    assert line["case_id"] == "case-7"
    assert "1101**********002X" in line["exception"]
    assert ID_NUMBER not in lines.getvalue()


def test_every_handler_sees_a_masked_message(caplog: pytest.LogCaptureFixture) -> None:
    configure()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("botocore.endpoint").debug("Sending body %s", {"id_number": ID_NUMBER})
    assert ID_NUMBER not in caplog.text
    assert "1101**********002X" in caplog.records[-1].getMessage()
