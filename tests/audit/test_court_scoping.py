"""An auditor of one court checks that court's accounts and proves their inclusion; what spans
every court (the whole-ledger check, publishing a digest) needs oversight of every province;
another court's account answers as one the digest does not hold."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.ledger import LedgerService
from tests.audit.conftest import CASE_OTHER_COURT
from tests.conftest import NATIONWIDE
from tests.ledger.conftest import CASE_A


def test_a_courts_auditor_checks_only_that_court(
    api: Any, token: Any, history: LedgerService
) -> None:
    auditor = token("auditor")
    whole = api.get("/audit/ledger-check", headers=auditor)
    assert whole.status_code == 403
    assert json.loads(whole.body)["type"].endswith("identity/court-not-yours")
    other = api.get("/audit/ledger-check?court=粤0605", headers=auditor)
    assert other.status_code == 403
    own = api.get("/audit/ledger-check?court=粤0604&limit=500", headers=auditor)
    assert own.status_code == 200
    page = json.loads(own.body)
    assert page["done"]
    assert page["accounts_checked"] >= 1
    assert CASE_OTHER_COURT not in own.body.decode()
    national = token("auditor", subject="national-1", courts=(), oversees=NATIONWIDE)
    assert api.get("/audit/ledger-check", headers=national).status_code == 200


def test_publishing_a_digest_needs_every_court_and_proofs_are_scoped(
    api: Any, token: Any, anchored: Any
) -> None:
    refused = api.post("/audit/digests", headers=token("finance"))
    assert refused.status_code == 403
    assert json.loads(refused.body)["type"].endswith("identity/court-not-yours")
    national = token("finance", subject="national-finance", courts=(), oversees=NATIONWIDE)
    published = api.post("/audit/digests", headers=national)
    assert published.status_code == 201, published.body
    number = json.loads(published.body)["digest"]["number"]

    own = api.get(f"/audit/digests/{number}/proofs/{CASE_A}", headers=token("auditor"))
    assert own.status_code == 200, own.body
    stranger = token("auditor", subject="auditor-elsewhere", courts=("粤0605",))
    hidden = api.get(f"/audit/digests/{number}/proofs/{CASE_A}", headers=stranger)
    absent = api.get(f"/audit/digests/{number}/proofs/4406052699999999", headers=stranger)
    assert hidden.status_code == 404
    assert json.loads(hidden.body)["type"] == json.loads(absent.body)["type"]
    assert "proof" not in json.loads(hidden.body)
    assert api.get(f"/audit/digests/{number}", headers=stranger).status_code == 200
