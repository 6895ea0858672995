"""A reconciled day is the deployment's rail account, shared by its courts; a difference that
names a case account belongs to that account's court and is shown, exported and resolved only
by staff who see it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService
from chalicelib.reconciliation.matching import item_id
from chalicelib.reconciliation.models import DifferenceKind, ReconciliationItem
from tests.reconciliation.conftest import CASE_A, BookingRail, collected, next_morning

DAY = "2026-11-02"


@pytest.fixture
def run_day(
    api: Any, token: Any, rail: BookingRail, ledger: LedgerService, day_clock: FixedClock
) -> str:
    """A day with an unknown rail payment and a case account of 粤0604 below zero."""
    from datetime import date

    wiring.override(payment_rail=rail)
    collected(ledger, CASE_A, 40_000, "pi_1")
    rail.book("pi_1", 40_000)
    rail.book("pi_unknown", 2_500)
    next_morning(day_clock)
    answer = api.post(f"/reconciliation/days/{DAY}/run", headers=token("finance", subject="fin-1"))
    assert answer.status_code == 200, answer.body
    negative = item_id(DifferenceKind.NEGATIVE_CASE_ACCOUNT, CASE_A)
    wiring.reconciliation_service().store.add_items(
        [
            ReconciliationItem(
                item_id=negative,
                day=date(2026, 11, 2),
                currency="CNY",
                kind=DifferenceKind.NEGATIVE_CASE_ACCOUNT,
                reference=CASE_A,
                ledger_amount=-100,
                difference=-100,
                detail=f"case account {CASE_A} stands at -100 fen (-100 available)",
            )
        ]
    )
    return negative


def test_another_courts_case_account_difference_is_not_shown(
    api: Any, token: Any, run_day: str
) -> None:
    stranger = token("finance", subject="fin-elsewhere", courts=("粤0605",))
    seen = api.get(f"/reconciliation/days/{DAY}", headers=stranger).json_body
    assert [i["reference"] for i in seen["items"]] == ["pi_unknown"]
    csv = api.get(f"/reconciliation/days/{DAY}/export.csv", headers=stranger).body.decode()
    assert "pi_unknown" in csv
    assert CASE_A not in csv
    own = api.get(f"/reconciliation/days/{DAY}", headers=token("auditor")).json_body
    assert {i["reference"] for i in own["items"]} == {"pi_unknown", CASE_A}

    note = json.dumps({"note": "已核实，系冲正所致"}, ensure_ascii=False)
    path = f"/reconciliation/days/{DAY}/items/{run_day}/resolve"
    hidden = api.post(path, headers=stranger, body=note)
    unknown = api.post(
        f"/reconciliation/days/{DAY}/items/no-such-item/resolve", headers=stranger, body=note
    )
    assert hidden.status_code == 404
    assert hidden.json_body["type"] == unknown.json_body["type"]
    overseer = token("finance", subject="intermediate-1", courts=("粤06",), oversees=("粤06",))
    refused = api.post(path, headers=overseer, body=note)
    assert refused.status_code == 403
    assert refused.json_body["type"].endswith("identity/court-not-yours")
    assert api.post(path, headers=token("finance", subject="fin-1"), body=note).status_code == 200
