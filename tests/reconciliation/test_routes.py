"""Reconciliation routes: who may run, read, resolve and close a day; CSV export."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService
from tests.reconciliation.conftest import CASE_A, BookingRail, collected, next_morning


@pytest.fixture
def day(api: Any, rail: BookingRail, ledger: LedgerService, day_clock: FixedClock) -> str:
    wiring.override(payment_rail=rail)
    collected(ledger, CASE_A, 40_000, "pi_1")
    rail.book("pi_1", 40_000)
    rail.book("pi_unknown", 2_500)
    next_morning(day_clock)
    return "2026-11-02"


def post(api: Any, path: str, headers: dict[str, str], body: Any = None) -> Any:
    return api.post(path, headers=headers, body=json.dumps(body) if body is not None else b"")


def test_finance_runs_resolves_and_closes_a_day(api: Any, token: Any, day: str) -> None:
    finance = token("finance", subject="fin-1")
    run = post(api, f"/reconciliation/days/{day}/run", finance)
    assert run.status_code == 200, run.json_body
    assert run.json_body["status"] == "open"
    assert run.json_body["unexplained"] == 2_500

    refused = post(api, f"/reconciliation/days/{day}/close", finance)
    assert refused.status_code == 409
    assert refused.json_body["unexplained"] == 2_500

    read = api.get(f"/reconciliation/days/{day}", headers=token("auditor")).json_body
    (item,) = read["items"]
    assert item["kind"] == "missing_in_ledger"
    assert item["reference"] == "pi_unknown"

    path = f"/reconciliation/days/{day}/items/{item['item_id']}/resolve"
    assert post(api, path, token("auditor"), {"note": "x" * 5}).status_code == 403
    assert post(api, path, finance, {"note": ""}).status_code == 422
    resolved = post(api, path, finance, {"note": "付款人误付，已在退付流程中处理"})
    assert resolved.status_code == 200
    assert resolved.json_body["status"] == "resolved"

    closed = post(api, f"/reconciliation/days/{day}/close", finance)
    assert closed.status_code == 200
    assert closed.json_body["status"] == "closed"
    assert closed.json_body["closed_by"] == "fin-1"

    listed = api.get(
        "/reconciliation/days?start=2026-11-01&end=2026-11-30", headers=token("admin")
    ).json_body
    assert [d["status"] for d in listed] == ["closed"]

    export = api.get(f"/reconciliation/days/{day}/export.csv", headers=token("auditor"))
    assert export.status_code == 200
    assert export.headers["Content-Type"].startswith("text/csv")
    text = export.body.decode()
    assert "pi_unknown" in text
    assert "付款人误付" in text
    assert ",closed," in text


def test_only_finance_auditors_and_admins_reconcile(api: Any, token: Any, day: str) -> None:
    for role in ("clerk", "approver"):
        assert post(api, f"/reconciliation/days/{day}/run", token(role)).status_code == 403
        assert api.get(f"/reconciliation/days/{day}", headers=token(role)).status_code == 403
    assert post(api, f"/reconciliation/days/{day}/run", token("auditor")).status_code == 403
    assert post(api, f"/reconciliation/days/{day}/run", token("admin")).status_code == 200
    assert post(api, f"/reconciliation/days/{day}/close", token("auditor")).status_code == 403
    assert api.get(f"/reconciliation/days/{day}", headers=token("auditor")).status_code == 200


def test_a_day_not_yet_ended_or_never_run_is_answered_clearly(
    api: Any, token: Any, day: str
) -> None:
    finance = token("finance")
    today = post(api, "/reconciliation/days/2026-11-03/run", finance)
    assert today.status_code == 400
    assert "ended" in today.json_body["detail"]
    assert post(api, "/reconciliation/days/yesterday/run", finance).status_code == 400
    missing = api.get("/reconciliation/days/2026-10-01", headers=finance)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    assert api.get(f"/reconciliation/days/{day}?currency=cny", headers=finance).status_code == 422
