"""Approval routes: queues and history for signed-in staff, problem+json otherwise."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalicelib.approvals import ApprovalService, ChainKind, Decision
from chalicelib.identity.roles import Principal, Role
from chalicelib.money import Money
from tests.approvals.conftest import COURT


def test_staff_read_an_approval_with_its_history_and_their_queue(api: Any, token: Any) -> None:
    from chalicelib.wiring import approval_service

    approvals: ApprovalService = approval_service()
    clerk = Principal(subject="clerk-1", name="clerk-1", roles=frozenset({Role.CLERK}))
    chief = Principal(subject="approver-1", name="approver-1", roles=frozenset({Role.APPROVER}))
    opened = approvals.open(
        ChainKind.REFUND, "r9", court=COURT, amount=Money(12345), requester=clerk
    )
    waiting = api.get(f"/approvals/waiting?court={quote(COURT)}", headers=token("approver"))
    assert waiting.status_code == 200
    assert [i["id"] for i in waiting.json_body["items"]] == [opened.id]
    assert waiting.json_body["items"][0]["amount"] == {
        "fen": 12345,
        "currency": "CNY",
        "yuan": "123.45",
    }
    mine = api.get("/approvals/mine", headers=token("clerk"))
    assert [i["id"] for i in mine.json_body["items"]] == [opened.id]
    approvals.decide(opened.id, Decision.RETURN, by=chief, text="请补充")
    shown = api.get(f"/approvals/{quote(opened.id)}", headers=token("auditor"))
    assert shown.status_code == 200
    body = shown.json_body
    assert body["status"] == "returned"
    assert body["question"] == "请补充"
    assert [h["action"] for h in body["history"]] == ["opened", "returned"]
    assert body["history"][1]["by"]["subject"] == "approver-1"
    assert body["history"][1]["role"] == "approver"


def test_an_unknown_approval_is_a_problem_and_a_token_is_needed(api: Any, token: Any) -> None:
    missing = api.get("/approvals/refund:nope", headers=token("auditor"))
    assert missing.status_code == 404
    assert missing.json_body["type"].endswith("approvals/not-found")
    assert api.get("/approvals/mine").status_code == 401
    bad = api.get("/approvals/overdue?court=x&role=janitor", headers=token("auditor"))
    assert bad.status_code == 422
