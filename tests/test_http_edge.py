"""Bad input gets a 4xx problem that says what is wrong; nothing gets a stack trace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.http import MAX_BODY_BYTES
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
