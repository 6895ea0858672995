"""A deployed stage whose Cognito pool or app client is not configured refuses every staff
request, stores nothing, and its log names the settings that are missing; public routes still
answer."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.logs import configure
from chalicelib.settings import Settings
from tests.cases.factories import filing
from tests.conftest import PROJECT_ROOT

CONFIG = json.loads((PROJECT_ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    handler = configure().logger_handler
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    original = handler.setStream(captured)
    try:
        yield captured
    finally:
        handler.setStream(original)


def _deploy_as(monkeypatch: pytest.MonkeyPatch, stage: str, **changes: str) -> None:
    """This stage's settings from config.json, on the test's tables."""
    tables = {name: value for name, value in os.environ.items() if "_TABLE" in name}
    for field in Settings.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    for name, value in {**CONFIG["stages"][stage]["environment_variables"], **changes}.items():
        monkeypatch.setenv(name, value)
    for name, value in tables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RATE_LIMITS_ON", "false")
    wiring.reset()


@pytest.mark.parametrize(
    "deployed",
    [
        ("prod", {}, ["COGNITO_USER_POOL_ID", "COGNITO_APP_CLIENT_ID"]),
        ("dev", {"COGNITO_USER_POOL_ID": "ap-east-1_AbCdEf123"}, ["COGNITO_APP_CLIENT_ID"]),
        ("dev", {"COGNITO_APP_CLIENT_ID": "4b1c2d3e4f5g6h7i8j9k0l1m2n"}, ["COGNITO_USER_POOL_ID"]),
    ],
)
def test_staff_requests_are_refused_and_the_log_names_the_missing_cognito_ids(
    api: Any,
    token: Any,
    log_lines: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    deployed: tuple[str, dict[str, str], list[str]],
) -> None:
    stage, changes, missing = deployed
    _deploy_as(monkeypatch, stage, **changes)

    answer = api.post("/cases", headers=token("clerk"), body=json.dumps(filing()))

    assert answer.status_code == 503
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    problem = json.loads(answer.body)
    assert problem["type"].endswith("/service-unavailable")
    assert "COGNITO" not in problem["detail"]  # the log says what; the caller quotes the id
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    [line] = [r for r in logged if r.get("correlation_id") == problem["request_id"]]
    for name in missing:
        assert name in line["message"]
    assert ({"COGNITO_USER_POOL_ID", "COGNITO_APP_CLIENT_ID"} - set(missing)).isdisjoint(
        line["message"].split()
    )
    listed = api.get("/cases", headers=token("clerk"))
    assert listed.status_code == 503
    assert api.get("/health").status_code == 200


def test_nothing_is_stored_by_a_refused_staff_request(
    api: Any, token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deploy_as(monkeypatch, "prod")
    assert api.post("/cases", headers=token("clerk"), body=json.dumps(filing())).status_code == 503
    table = os.environ["CASES_TABLE"]
    assert wiring.dynamodb().scan(TableName=table)["Items"] == []
