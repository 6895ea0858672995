"""The audit routes: auditors page through the whole-ledger check; the daily run alarms."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.ledger import LedgerService
from tests.audit.conftest import delete_newest_entry_and_roll_back
from tests.conftest import NATIONWIDE
from tests.ledger.conftest import CASE_A


def test_auditor_pages_through_the_check_to_done(
    api: Any, token: Any, history: LedgerService, accounts_held: int
) -> None:
    headers = token("auditor", oversees=NATIONWIDE)
    answer = api.get("/audit/ledger-check?limit=3", headers=headers)
    assert answer.status_code == 200, answer.body
    page = json.loads(answer.body)
    pages = [page]
    while page["cursor"]:
        answer = api.get(f"/audit/ledger-check?limit=3&cursor={page['cursor']}", headers=headers)
        page = json.loads(answer.body)
        pages.append(page)
    assert page["done"]
    assert sum(p["accounts_checked"] for p in pages) == accounts_held
    assert all(p["breaks"] == [] for p in pages)


def test_a_break_is_answered_with_account_sequence_and_kind(
    api: Any, token: Any, history: LedgerService
) -> None:
    delete_newest_entry_and_roll_back(history, CASE_A)
    page = json.loads(
        api.get("/audit/ledger-check?limit=500", headers=token("finance", oversees=NATIONWIDE)).body
    )
    assert page["done"]
    assert {"account_id": CASE_A, "seq": 4, "kind": "missing"}.items() <= page["breaks"][0].items()


def test_bad_cursor_and_court_are_problems(api: Any, token: Any, history: LedgerService) -> None:
    national = token("auditor", oversees=NATIONWIDE)
    bad = api.get("/audit/ledger-check?cursor=bm90LWEtY3Vyc29y", headers=national)
    assert bad.status_code == 422
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    court = api.get("/audit/ledger-check?court=XX12", headers=token("auditor"))
    assert court.status_code == 422
    assert json.loads(court.body)["type"].endswith("audit/invalid-query")


def test_a_cursor_of_one_court_is_refused_for_another(
    api: Any, token: Any, history: LedgerService
) -> None:
    first = json.loads(
        api.get("/audit/ledger-check?limit=1&court=粤0604", headers=token("auditor")).body
    )
    other = api.get(
        f"/audit/ledger-check?limit=1&court=粤0605&cursor={first['cursor']}",
        headers=token("auditor", oversees=NATIONWIDE),
    )
    assert other.status_code == 422


def test_daily_run_reports_breaks(history: LedgerService, capsys: Any) -> None:
    from chalice.test import Client

    from app import app
    from tests.conftest import PROJECT_ROOT

    delete_newest_entry_and_roll_back(history, CASE_A)
    [schedule] = [s for s in app.event_sources if s.name == "daily_ledger_check"]
    with Client(app, stage_name="test", project_dir=str(PROJECT_ROOT)) as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        result = client.lambda_.invoke("daily_ledger_check", event).payload
    assert schedule is not None
    assert result["breaks"] >= 2
    assert '"LedgerBreaks":' in capsys.readouterr().out
