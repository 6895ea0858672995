"""Exports follow the courts: a statement of another court's account answers as an unknown
account and its job as no job; a journal or trial balance spans every court and needs
oversight of every province."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.exports.service import ExportService
from chalicelib.ledger import LedgerService
from tests.audit.conftest import CASE_OTHER_COURT
from tests.conftest import NATIONWIDE
from tests.exports.conftest import PERIOD, wait_for_jobs
from tests.ledger.conftest import CASE_A


def _body(**fields: Any) -> str:
    return json.dumps(
        {"start": PERIOD["start"].isoformat(), "end": PERIOD["end"].isoformat(), **fields}
    )


def test_another_courts_statement_answers_as_an_unknown_account(
    api: Any, token: Any, exports: ExportService, history: LedgerService
) -> None:
    stranger = token("auditor", subject="auditor-elsewhere", courts=("粤0605",))
    unknown = api.post(
        "/exports", headers=stranger, body=_body(kind="statement", account=CASE_OTHER_COURT)
    )
    refused = api.post("/exports", headers=stranger, body=_body(kind="statement", account=CASE_A))
    assert refused.status_code == 404
    assert json.loads(refused.body)["type"] == json.loads(unknown.body)["type"]
    assert CASE_A in refused.body.decode()  # it names what was asked, nothing more
    assert "downloads" not in json.loads(refused.body)

    made = api.post(
        "/exports", headers=token("auditor"), body=_body(kind="statement", account=CASE_A)
    )
    assert made.status_code == 201, made.body
    location = made.headers["Location"]
    hidden = api.get(location, headers=stranger)
    missing = api.get("/exports/20261102-0000000000000000", headers=stranger)
    assert hidden.status_code == 404
    assert json.loads(hidden.body)["type"] == json.loads(missing.body)["type"]
    overseer = token("auditor", subject="intermediate-1", courts=("粤06",), oversees=("粤06",))
    assert api.get(location, headers=overseer).status_code == 200


def test_a_journal_or_trial_balance_needs_every_court(
    api: Any, token: Any, exports: ExportService, history: LedgerService
) -> None:
    for kind in ("journal", "trial_balance"):
        answer = api.post("/exports", headers=token("finance"), body=_body(kind=kind))
        assert answer.status_code == 403, kind
        assert json.loads(answer.body)["type"].endswith("identity/court-not-yours")
    national = token("finance", subject="national-finance", courts=(), oversees=NATIONWIDE)
    journal = api.post("/exports", headers=national, body=_body(kind="journal"))
    assert journal.status_code == 202
    wait_for_jobs(exports)
    assert api.get(journal.headers["Location"], headers=token("auditor")).status_code == 404
    assert api.get(journal.headers["Location"], headers=national).status_code == 200
