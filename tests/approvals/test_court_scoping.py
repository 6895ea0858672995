"""Approvals are seen only in the caller's courts: another court's approval answers as a
missing one, its queues are refused, and a higher court reads without taking steps."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalicelib.approvals import ApprovalService, ChainKind
from chalicelib.money import Money
from tests.approvals.conftest import CLERK, COURT

OTHER = "粤0605"


def _open(approvals: ApprovalService) -> str:
    opened = approvals.open(
        ChainKind.REFUND, "r-scoped", court=COURT, amount=Money(88_800), requester=CLERK
    )
    return opened.id


def test_another_courts_approval_answers_as_missing(
    api: Any, token: Any, approvals: ApprovalService
) -> None:
    approval = _open(approvals)
    stranger = token("auditor", subject="auditor-elsewhere", courts=(OTHER,))
    missing = api.get("/approvals/refund:nope", headers=stranger)
    answer = api.get(f"/approvals/{quote(approval)}", headers=stranger)
    assert answer.status_code == 404
    assert answer.json_body["type"] == missing.json_body["type"]
    assert "888" not in answer.body.decode()
    assert api.get(f"/approvals/{quote(approval)}", headers=token("auditor")).status_code == 200


def test_another_courts_queues_are_refused(
    api: Any, token: Any, approvals: ApprovalService
) -> None:
    _open(approvals)
    chief = token("approver", subject="chief-elsewhere", courts=(OTHER,))
    for path in (
        f"/approvals/waiting?court={quote(COURT)}",
        f"/approvals/overdue?court={quote(COURT)}&role=approver",
    ):
        answer = api.get(path, headers=chief)
        assert answer.status_code == 403, path
        assert answer.json_body["type"].endswith("identity/court-not-yours")
        assert "r-scoped" not in answer.body.decode()
    own = api.get(f"/approvals/waiting?court={quote(OTHER)}", headers=chief)
    assert own.status_code == 200
    assert own.json_body["items"] == []


def test_a_higher_court_reads_but_takes_no_step(
    api: Any, token: Any, approvals: ApprovalService
) -> None:
    approval = _open(approvals)
    overseer = token("approver", subject="intermediate-1", courts=("粤06",), oversees=("粤06",))
    assert api.get(f"/approvals/{quote(approval)}", headers=overseer).status_code == 200
    overdue = api.get(f"/approvals/overdue?court={quote(COURT)}&role=approver", headers=overseer)
    assert overdue.status_code == 200
    waiting = api.get(f"/approvals/waiting?court={quote(COURT)}", headers=overseer)
    assert waiting.status_code == 403
    assert waiting.json_body["type"].endswith("identity/court-not-yours")
