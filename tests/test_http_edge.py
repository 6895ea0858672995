"""Bad input gets a 4xx problem that says what is wrong; nothing gets a stack trace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.http import MAX_BODY_BYTES
from chalicelib.problems import ProblemError
from tests.cases.factories import filing


def _problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.body
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = json.loads(answer.body)
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == status
    return problem


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"case_number": ', "not valid JSON"),
        (b"", "needs a JSON body"),
        (b'{"a": 1, "a": 2}', "twice"),
        (b'{"adjudicated_amount": NaN}', "NaN"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_malformed_bodies_are_400(api: Any, token: Any, raw: bytes, words: str) -> None:
    problem = _problem(api.post("/cases", body=raw, headers=token("clerk")), 400)
    assert words in problem["detail"]


def test_wrong_types_and_missing_fields_name_each_field(api: Any, token: Any) -> None:
    body = filing()
    body["court_name"] = 42
    del body["fund_types"]
    problem = _problem(
        api.post("/cases", body=json.dumps(body).encode(), headers=token("clerk")), 422
    )
    pointers = {e["pointer"] for e in problem["errors"]}
    assert {"/court_name", "/fund_types"} <= pointers


def test_float_money_is_refused_even_when_whole(api: Any, token: Any) -> None:
    raw = json.dumps(filing()).replace("12345600", "12345600.0").encode()
    problem = _problem(api.post("/cases", body=raw, headers=token("clerk")), 422)
    assert "never a float" in problem["errors"][0]["detail"]


def test_oversize_body_is_413(api: Any, token: Any) -> None:
    raw = b'{"x": "' + b"a" * MAX_BODY_BYTES + b'"}'
    _problem(api.post("/cases", body=raw, headers=token("clerk")), 413)


def test_non_json_body_is_415(api: Any, token: Any) -> None:
    headers = {**token("clerk"), "Content-Type": "text/plain"}
    _problem(api.post("/cases", body=json.dumps(filing()).encode(), headers=headers), 415)


def test_unexpected_failure_is_a_500_problem_without_a_trace(
    api: Any, token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.cases.service import CaseService

    def broken(self: Any, case_id: str) -> Any:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(CaseService, "get", broken)
    problem = _problem(api.get("/cases/c1", headers=token("clerk")), 500)
    assert "internal detail" not in json.dumps(problem)
    assert "Traceback" not in json.dumps(problem)


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_400_before_parsing(api: Any, token: Any, opener: str) -> None:
    raw = (opener * 1000).encode()
    problem = _problem(api.post("/cases", body=raw, headers=token("clerk")), 400)
    assert "nests deeper" in problem["detail"]
    anonymous = api.post(
        "/collection/cases/4406042600000010/payments",
        body=raw,
        headers={"Content-Type": "application/json"},
    )
    assert "nests deeper" in _problem(anonymous, 400)["detail"]


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    from chalicelib.http import parse_json

    text = json.dumps({"reason": "[" * 500 + '"{' * 100})
    assert parse_json(text.encode(), max_depth=4)["reason"].startswith("[[[")
    with pytest.raises(ProblemError, match="nests deeper than 4"):
        parse_json(b'{"a":[[[{"b":1}]]]}', max_depth=4)


def test_unexpected_failure_names_the_request_in_the_problem_and_the_log(
    api: Any, token: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from chalicelib.cases.service import CaseService

    def broken(self: Any, case_id: str) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(CaseService, "get", broken)
    answer = api.get("/cases/c1", headers=token("clerk"))
    problem = _problem(answer, 500)
    assert problem["request_id"]
    assert problem["instance"] == "/cases/c1"
    assert answer.headers["X-Request-Id"] == problem["request_id"]
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert problem["request_id"] in logged[-1].getMessage()


def test_every_problem_carries_a_request_id_unique_to_the_request(api: Any) -> None:
    first = _problem(api.get("/cases/c1"), 401)
    second = _problem(api.get("/cases/c1"), 401)
    assert first["request_id"]
    assert second["request_id"]
    assert first["request_id"] != second["request_id"]


@pytest.mark.parametrize(
    ("path", "signed_in"),
    [
        ("/cases/c1", True),  # staff answer with a problem (404)
        ("/cases/c1", False),  # 401
        ("/pay", False),  # a page
        ("/static/app.css", False),
        ("/health", False),
        ("/", False),
        ("/collection/cases/4406042600000010", False),  # the public API
    ],
)
def test_every_answer_carries_the_protective_headers(
    api: Any, token: Any, path: str, signed_in: bool
) -> None:
    answer = api.get(path, headers=token("clerk") if signed_in else {})
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Request-Id"]
    assert "Cache-Control" in answer.headers


def test_staff_answers_are_never_cached(api: Any, token: Any) -> None:
    answer = api.get("/cases?court=粤0604", headers=token("clerk"))
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_root_url_is_a_landing_page_that_links_the_pay_page(api: Any) -> None:
    answer = api.get("/")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    page = answer.body.decode()
    assert 'href="/pay"' in page
    assert 'href="/health"' in page
    assert "/collection/cases/{account_number}/payments" in page  # the routes, from the registry


def test_health_answers_without_data(api: Any) -> None:
    answer = api.get("/health")
    assert answer.status_code == 200
    assert json.loads(answer.body) == {"status": "ok"}


def test_the_favicon_is_served(api: Any) -> None:
    answer = api.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/svg+xml"


def test_the_stripe_sdk_never_logs_its_urls() -> None:
    import logging

    import app  # noqa: F401 - configures logging as a deployed function does

    assert logging.getLogger("stripe").getEffectiveLevel() >= logging.WARNING


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab粤', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(value=_JSON, limit=st.integers(min_value=1, max_value=6))
def test_the_depth_measured_without_parsing_is_the_real_depth(value: Any, limit: int) -> None:
    from chalicelib import jsondepth

    assert jsondepth.exceeds(json.dumps(value), limit) == (_depth(value) > limit)
