"""Counter-cash and claim confirmations are steps of approval chains (``counter_cash`` and
``claim`` in the approvals capability): finance confirms, never the person who entered or
proposed (by token subject), every step in the approval's history, and a court's tier may add
an approver above an amount."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.approvals import ChainKind
from chalicelib.clock import FixedClock, isoformat
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case

FINANCE_ONLY = {"tiers": [{"steps": [{"role": "finance", "title": "财务"}]}]}


def enter(api: Any, token: Any, case: Any, clock: FixedClock, *, amount: int, entry: str) -> Any:
    body = {
        "id": entry,
        "account_id": case.account_number,
        "amount": amount,
        "receipt_no": f"GD-2026-{entry}",
        "received_at": isoformat(clock.now() - timedelta(minutes=30)),
    }
    return api.post(
        "/collection/counter-cash",
        headers=token("clerk", subject="clerk-3"),
        body=json.dumps(body, ensure_ascii=False),
    )


def confirm(api: Any, headers: dict[str, str], entry: str) -> Any:
    return api.post(f"/collection/counter-cash/{entry}/confirm", headers=headers)


def chain(api: Any, token: Any, kind: str, item: str) -> dict[str, Any]:
    answer = api.get(f"/approvals/{kind}:{item}", headers=token("auditor"))
    assert answer.status_code == 200, answer.body
    return dict(json.loads(answer.body))


def test_counter_cash_is_confirmed_through_its_chain_never_by_the_one_who_entered(
    api: Any, token: Any, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    assert enter(api, token, case, clock, amount=3_000, entry="cash-c1").status_code == 201
    opened = chain(api, token, "counter_cash", "cash-c1")
    assert (opened["kind"], opened["status"]) == ("counter_cash", "pending")
    assert [s["role"] for s in opened["steps"]] == ["finance"]

    # The clerk who entered it, with finance's role and another display name: refused.
    renamed = token("finance", "clerk", subject="clerk-3", name="另一个名字")
    refused = confirm(api, renamed, "cash-c1")
    assert refused.status_code == 403
    assert chain(api, token, "counter_cash", "cash-c1")["history"] == opened["history"]
    assert ledger_service().balance(case.account_number).posted == 0

    done = confirm(api, token("finance", subject="finance-7"), "cash-c1")
    assert done.status_code == 201, done.body
    decided = chain(api, token, "counter_cash", "cash-c1")
    assert decided["status"] == "approved"
    assert [(h["action"], h["by"]["subject"]) for h in decided["history"]] == [
        ("opened", "clerk-3"),
        ("approved", "finance-7"),
    ]
    assert ledger_service().balance(case.account_number).posted == 3_000


def test_a_rejection_is_the_chains_rejection_with_its_reason(
    api: Any, token: Any, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    assert enter(api, token, case, clock, amount=3_000, entry="cash-r1").status_code == 201
    answer = api.post(
        "/collection/counter-cash/cash-r1/reject",
        headers=token("finance", subject="finance-7"),
        body=json.dumps({"reason": "收据金额不符"}, ensure_ascii=False),
    )
    assert answer.status_code == 200, answer.body
    rejected = chain(api, token, "counter_cash", "cash-r1")
    assert rejected["status"] == "rejected"
    assert rejected["history"][-1]["text"] == "收据金额不符"


@pytest.mark.parametrize("approver_first", [False, True], ids=["finance first", "leader first"])
def test_a_court_tier_adds_an_approver_above_an_amount(
    api: Any,
    token: Any,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    approver_first: bool,
) -> None:
    above_100_yuan = {
        "tiers": [
            {"up_to_fen": 10_000, "steps": [{"role": "finance", "title": "财务"}]},
            {
                "steps": [
                    {"role": "approver", "title": "分管院领导"},
                    {"role": "finance", "title": "财务"},
                ]
                if approver_first
                else [
                    {"role": "finance", "title": "财务"},
                    {"role": "approver", "title": "分管院领导"},
                ]
            },
        ]
    }
    book = {
        "courts": {
            "*": {kind.value: FINANCE_ONLY for kind in ChainKind},
            "粤0604": {"counter_cash": above_100_yuan},
        }
    }
    monkeypatch.setenv("APPROVAL_CHAINS", json.dumps(book, ensure_ascii=False))
    wiring.reset()
    wiring.override(clock=clock)
    case = open_case(amount=100_000)
    assert enter(api, token, case, clock, amount=10_000, entry="cash-small").status_code == 201
    assert confirm(api, token("finance", subject="finance-7"), "cash-small").status_code == 201

    assert enter(api, token, case, clock, amount=10_001, entry="cash-large").status_code == 201
    finance = token("finance", subject="finance-7")
    leader = token("approver", subject="leader-1")
    first, second = (leader, finance) if approver_first else (finance, leader)
    assert confirm(api, second, "cash-large").status_code == 403  # not this step's role
    step = confirm(api, first, "cash-large")
    assert step.status_code == 202, step.body
    assert json.loads(step.body)["status"] == "proposed"  # still waiting: nothing posted
    assert ledger_service().balance(case.account_number).posted == 10_000
    done = confirm(api, second, "cash-large")
    assert done.status_code == 201, done.body
    assert ledger_service().balance(case.account_number).posted == 20_001
    history = chain(api, token, "counter_cash", "cash-large")["history"]
    assert [h["action"] for h in history] == ["opened", "approved", "approved"]
