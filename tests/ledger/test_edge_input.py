"""Dates whose UTC form overflows and blank or disguised reasons, on the ledger's routes:
422 problems, never a 500, and nothing stored."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.ledger import LedgerService
from tests.ledger.conftest import CASE_A, CASE_B
from tests.ledger.test_routes import CORRECTION, books, send

__all__ = ["books"]  # the fixture, used by name below

EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T00:00:00+08:00"]


@pytest.mark.parametrize("moment", EDGES)
def test_a_balance_at_an_impossible_moment_is_422(
    api: Any, token: Any, books: LedgerService, moment: str
) -> None:
    query = urlencode({"at": moment})
    answer = api.get(f"/ledger/accounts/{CASE_A}/balance?{query}", headers=token("clerk"))
    assert answer.status_code == 422, answer.body
    assert "1990 to 2100" in json.loads(answer.body)["detail"]


@pytest.mark.parametrize("moment", EDGES)
def test_a_statement_window_at_an_impossible_moment_is_422(
    api: Any, token: Any, books: LedgerService, moment: str
) -> None:
    query = urlencode({"start": "2026-01-01T00:00:00Z", "end": moment})
    answer = api.get(f"/ledger/accounts/{CASE_A}/statement?{query}", headers=token("clerk"))
    assert answer.status_code == 422, answer.body


@pytest.mark.parametrize("reason", [" ", "\t", "x", "\u202eesrever", "a\x00b", "\x1b[2J"])
def test_a_blank_or_disguised_correction_reason_is_refused(
    api: Any, token: Any, books: LedgerService, reason: str
) -> None:
    proposed = send(
        api, "POST", "/ledger/corrections", token("clerk"), CORRECTION | {"reason": reason}
    )
    assert proposed.status_code == 422, proposed.body
    assert (
        json.loads(api.get("/ledger/corrections", headers=token("finance")).body)["proposals"] == []
    )
    assert books.balance(CASE_B).posted == 0


@pytest.mark.parametrize("reason", ["\t", " ", "\u200b\u200b"])
def test_a_blank_rejection_reason_is_refused(
    api: Any, token: Any, books: LedgerService, reason: str
) -> None:
    send(api, "POST", "/ledger/corrections", token("clerk"), CORRECTION)
    rejected = send(
        api, "POST", "/ledger/corrections/fix-1/reject", token("finance"), {"reason": reason}
    )
    assert rejected.status_code == 422, rejected.body
    shown = json.loads(api.get("/ledger/corrections/fix-1", headers=token("auditor")).body)
    assert shown["status"] == "open"
