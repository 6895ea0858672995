"""The payout API through the app: staff routes by role, the creditor's claim link and page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from tests.payouts.conftest import World


def _post(api: Any, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return api.post(path, headers=headers, body=json.dumps(body, ensure_ascii=False).encode())


def _approved_through_the_api(api: Any, token: Any, world: World) -> dict[str, Any]:
    proposed = _post(
        api,
        f"/cases/{world.case.case_id}/disbursements",
        token("clerk", subject="clerk-1"),
        {"creditor_party_id": world.creditor_id, "amount": "3000.00", "note": "无争议部分"},
    )
    assert proposed.status_code == 201, proposed.body
    d = json.loads(proposed.body)
    assert d["amount"] == {"fen": 300_000, "currency": "CNY", "yuan": "3000.00"}
    chief = _post(api, f"/disbursements/{d['disbursement_id']}/approve", token("approver"), {})
    assert chief.status_code == 200, chief.body
    assert json.loads(chief.body)["state"] == "proposed"
    approved = _post(api, f"/disbursements/{d['disbursement_id']}/approve", token("finance"), {})
    assert approved.status_code == 200, approved.body
    return dict(json.loads(approved.body))


def test_a_clerk_proposes_and_an_approver_approves(api: Any, token: Any, world: World) -> None:
    d = _approved_through_the_api(api, token, world)
    assert d["state"] == "approved"
    listed = api.get(f"/cases/{world.case.case_id}/disbursements", headers=token("auditor"))
    [shown] = json.loads(listed.body)["disbursements"]
    assert shown["state"] == "approved"
    assert shown["destination"]["account_number"].endswith("3445")
    assert "6222020200112233445" not in listed.body.decode()  # masked for the auditor
    queue = api.get("/disbursements?court=粤0604&state=approved", headers=token("finance"))
    assert [i["disbursement_id"] for i in json.loads(queue.body)["items"]] == [d["disbursement_id"]]


def test_the_proposer_approving_is_refused_as_a_problem(api: Any, token: Any, world: World) -> None:
    proposed = _post(
        api,
        f"/cases/{world.case.case_id}/disbursements",
        token("clerk", "approver", subject="both-1"),
        {"creditor_party_id": world.creditor_id, "amount": 100},
    )
    d = json.loads(proposed.body)
    answer = _post(
        api, f"/disbursements/{d['disbursement_id']}/approve",
        token("approver", subject="both-1"), {},
    )  # fmt: skip
    assert answer.status_code == 403
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(answer.body)["type"].endswith("approvals/requester-cannot-decide")


def test_an_approver_returns_a_proposal_with_a_question_the_proposer_answers(
    api: Any, token: Any, world: World
) -> None:
    proposed = _post(
        api, f"/cases/{world.case.case_id}/disbursements", token("clerk", subject="clerk-1"),
        {"creditor_party_id": world.creditor_id, "amount": "3000.00"},
    )  # fmt: skip
    d_id = json.loads(proposed.body)["disbursement_id"]
    path, reply = f"/disbursements/{d_id}", {"answer": "已履行"}
    question = "和解协议是否已履行?"
    returned = _post(
        api, f"/disbursements/{d_id}/return", token("approver"), {"question": question}
    )
    assert returned.status_code == 200, returned.body
    assert json.loads(returned.body)["state"] == "proposed"
    shown = api.get(f"/approvals/disbursement:{d_id}", headers=token("auditor"))
    assert (json.loads(shown.body)["status"], json.loads(shown.body)["question"]) == (
        "returned",
        question,
    )
    blocked = _post(api, f"/disbursements/{d_id}/approve", token("approver", subject="chief-2"), {})
    assert blocked.status_code == 409
    other_clerk = _post(
        api, f"{path}/answer", token("clerk", subject="clerk-2"), reply
    )  # fmt: skip
    assert other_clerk.status_code == 403
    assert json.loads(other_clerk.body)["type"].endswith("approvals/not-requester")
    answered = _post(
        api, f"{path}/answer", token("clerk", subject="clerk-1"), reply
    )  # fmt: skip
    assert answered.status_code == 200, answered.body
    approved = _post(api, f"/disbursements/{d_id}/approve", token("approver"), {})
    assert approved.status_code == 200, approved.body


def test_the_claim_link_shows_the_case_amount_and_masked_account(
    api: Any, token: Any, world: World
) -> None:
    _approved_through_the_api(api, token, world)
    [code] = world.claim_codes()
    answer = _post(api, "/claims/lookup", {"Content-Type": "application/json"}, {"code": code})
    assert answer.status_code == 200, answer.body
    shown = json.loads(answer.body)
    assert shown["status"] == "ready"
    assert shown["amount"]["yuan"] == "3000.00"
    assert shown["destination"].endswith("**** 3445")
    assert shown["creditor_name"] == "张*"
    text = answer.body.decode()
    for personal in ("13812345678", "440104198001011238", "6222020200112233445"):
        assert personal not in text


def test_wrong_claim_codes_are_refused_then_rate_limited(api: Any, world: World) -> None:
    limit = wiring.settings().claim_failures_allowed
    wrong = {"code": "A" * 43}
    headers = {"Content-Type": "application/json"}
    for _ in range(limit):
        answer = _post(api, "/claims/lookup", headers, wrong)
        assert answer.status_code == 404
        assert json.loads(answer.body)["type"].endswith("payouts/claim-not-found")
    assert _post(api, "/claims/lookup", headers, wrong).status_code == 429


@pytest.mark.parametrize("code", ["short", "A" * 44, "A" * 42 + "!"])
def test_a_malformed_claim_code_is_refused_before_any_lookup(api: Any, code: str) -> None:
    answer = _post(api, "/claims/lookup", {"Content-Type": "application/json"}, {"code": code})
    assert answer.status_code == 422


def test_the_claim_page_carries_no_code_and_allows_no_inline_script(api: Any) -> None:
    page = api.get("/claim")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = page.body.decode()
    assert "<script>" not in html
    assert 'src="/static/claim.js"' in html
    assert api.get("/static/claim.js").status_code == 200
