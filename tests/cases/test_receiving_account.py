"""Changing a creditor's receiving account through the API: proposed by the case's clerk,
approved through its chain by other people (by token subject), kept in the case's trail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cases.test_cases_api import open_case, post

OLD = "6222020200112233445"
NEW = "6217003320000000001"
CHANGE = {
    "bank_name": "中国建设银行佛山分行",
    "account_name": "张三",
    "account_number": NEW,
    "reason": "原账户已销户，债权人书面申请变更",
}
OTHER = ("粤0605",)


def path(case: dict[str, Any], action: str = "") -> str:
    creditor = case["parties"][0]["party_id"]
    return f"/cases/{case['case_id']}/creditors/{creditor}/receiving-account{action}"


def read(api: Any, token: Any, case: dict[str, Any], role: str = "clerk") -> dict[str, Any]:
    return json.loads(api.get(f"/cases/{case['case_id']}", headers=token(role)).body)


def events(api: Any, token: Any, case: dict[str, Any], role: str) -> list[dict[str, Any]]:
    answer = api.get(f"/cases/{case['case_id']}/history", headers=token(role))
    return json.loads(answer.body)["events"]  # type: ignore[no-any-return]


def problem(answer: Any) -> str:
    assert answer.headers["Content-Type"].startswith("application/problem+json"), answer.body
    return str(json.loads(answer.body)["type"])


@pytest.fixture
def case(api: Any, token: Any) -> dict[str, Any]:
    return open_case(api, token)


def test_the_change_pays_nothing_until_its_chain_approves_and_keeps_the_old_account(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    proposed = post(api, path(case), CHANGE, token("clerk"))
    assert proposed.status_code == 202, proposed.body
    creditor = json.loads(proposed.body)["parties"][0]
    assert creditor["receiving_account"]["account_number"] == OLD
    assert creditor["pending_account_change"]["account_number"] == NEW
    approval = creditor["pending_account_change"]["approval_id"]

    chief = post(api, path(case, "/approve"), {}, token("approver", subject="chief-1"))
    assert chief.status_code == 200, chief.body
    assert read(api, token, case)["parties"][0]["receiving_account"]["account_number"] == OLD

    done = post(api, path(case, "/approve"), {"note": "已核实"}, token("finance"))
    assert done.status_code == 200, done.body
    creditor = read(api, token, case)["parties"][0]
    assert creditor["receiving_account"]["account_number"] == NEW
    assert creditor["receiving_account"]["bank_name"] == "中国建设银行佛山分行"
    assert creditor["receiving_account"]["confirmed_by"] == "finance-1"
    assert "pending_account_change" not in creditor

    changed = events(api, token, case, "finance")[-1]
    assert changed["action"] == "receiving_account_changed"
    assert changed["details"]["old"]["account_number"] == OLD
    assert changed["details"]["new"]["account_number"] == NEW
    assert changed["details"]["proposed_by"] == "clerk-1"
    assert changed["details"]["approved_by"] == ["chief-1", "finance-1"]
    assert changed["actor"] == "finance-1"
    assert changed["reason"] == CHANGE["reason"]
    # an auditor sees the trail with both accounts masked, as the case view masks them
    masked = events(api, token, case, "auditor")[-1]["details"]
    assert masked["old"]["account_number"] == "*" * 15 + OLD[-4:]
    assert masked["new"]["account_number"] == "*" * 15 + NEW[-4:]
    assert OLD not in json.dumps(events(api, token, case, "auditor"))
    chain = json.loads(api.get(f"/approvals/{approval}", headers=token("auditor")).body)
    assert chain["status"] == "approved"


def test_the_proposer_never_approves_by_subject_even_under_another_name(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    both = token("clerk", "approver", subject="clerk-1", name="王书记员")
    assert post(api, path(case), CHANGE, both).status_code == 202
    before = read(api, token, case)
    renamed = token("approver", subject="clerk-1", name="王局长")
    refused = post(api, path(case, "/approve"), {}, renamed)
    assert refused.status_code == 403, refused.body
    assert problem(refused).endswith("approvals/requester-cannot-decide")
    rejected = post(api, path(case, "/reject"), {"reason": "自己驳回"}, renamed)
    assert rejected.status_code == 403
    assert read(api, token, case) == before
    # a namesake with another subject is another person and takes the step
    namesake = token("approver", subject="chief-1", name="王书记员")
    assert post(api, path(case, "/approve"), {}, namesake).status_code == 200


def test_a_holder_who_is_not_the_creditor_is_refused_and_nothing_is_stored(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    before = read(api, token, case)
    trail = events(api, token, case, "clerk")
    refused = post(api, path(case), {**CHANGE, "account_name": "李四"}, token("clerk"))
    assert refused.status_code == 422, refused.body
    assert problem(refused).endswith("cases/account-holder-mismatch")
    assert json.loads(refused.body)["errors"][0]["pointer"] == "/account_name"
    mistyped = post(api, path(case), {**CHANGE, "account_number": "6217-0033"}, token("clerk"))
    assert mistyped.status_code == 422
    assert read(api, token, case) == before
    assert events(api, token, case, "clerk") == trail
    nothing = post(api, path(case, "/approve"), {}, token("finance"))
    assert nothing.status_code == 409
    assert problem(nothing).endswith("cases/no-account-change-waiting")


def test_another_court_gets_404_and_an_overseer_403_and_nothing_changes(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    before = read(api, token, case)
    stranger = token("clerk", subject="clerk-elsewhere", courts=OTHER)
    hidden = post(api, path(case), CHANGE, stranger)
    assert hidden.status_code == 404
    assert problem(hidden).endswith("cases/not-found")
    assert case["case_number"] not in hidden.body.decode()
    overseer = token("clerk", subject="intermediate-1", courts=("粤06",), oversees=("粤06",))
    assert problem(post(api, path(case), CHANGE, overseer)).endswith("identity/court-not-yours")

    assert post(api, path(case), CHANGE, token("clerk")).status_code == 202
    pending = read(api, token, case)
    for action, body in (("/approve", {}), ("/reject", {"reason": "不予变更"})):
        elsewhere = token("finance", subject="finance-elsewhere", courts=OTHER)
        assert post(api, path(case, action), body, elsewhere).status_code == 404
        above = token("finance", subject="finance-above", courts=("粤06",), oversees=("粤06",))
        assert post(api, path(case, action), body, above).status_code == 403
    assert read(api, token, case) == pending
    assert pending != before


def test_a_rejected_change_leaves_the_account_and_a_second_proposal_waits_its_turn(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    assert post(api, path(case), CHANGE, token("clerk")).status_code == 202
    twice = post(api, path(case), {**CHANGE, "account_number": "6217003320000000002"},
                 token("clerk"))  # fmt: skip
    assert twice.status_code == 409
    assert problem(twice).endswith("cases/account-change-refused")
    without_reason = post(api, path(case, "/reject"), {}, token("approver", subject="chief-1"))
    assert without_reason.status_code == 422
    rejected = post(
        api, path(case, "/reject"), {"reason": "申请材料不全"}, token("approver", subject="chief-1")
    )
    assert rejected.status_code == 200, rejected.body
    creditor = read(api, token, case)["parties"][0]
    assert creditor["receiving_account"]["account_number"] == OLD
    assert "pending_account_change" not in creditor
    assert events(api, token, case, "clerk")[-1]["action"] == "receiving_account_rejected"
    assert post(api, path(case), CHANGE, token("clerk")).status_code == 202


@pytest.mark.parametrize("role", ["auditor", "approver", "finance", "admin"])
def test_only_the_clerk_proposes(api: Any, token: Any, case: dict[str, Any], role: str) -> None:
    refused = post(api, path(case), CHANGE, token(role))
    assert refused.status_code == 403
    assert problem(refused).endswith("identity/role-not-allowed")


def test_an_approver_returns_the_change_with_a_question_and_only_the_proposer_answers(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    assert post(api, path(case), CHANGE, token("clerk")).status_code == 202
    question = {"question": "新账户的开户证明是否已附卷？"}
    # the proposer cannot return their own change
    own = post(api, path(case, "/return"), question, token("clerk", "approver", subject="clerk-1"))
    assert own.status_code == 403, own.body
    returned = post(api, path(case, "/return"), question, token("approver", subject="chief-1"))
    assert returned.status_code == 200, returned.body
    # a returned change waits for its answer: no step can be taken on it meanwhile
    early = post(api, path(case, "/approve"), {}, token("approver", subject="chief-2"))
    assert early.status_code == 409, early.body
    # only the proposer answers, by subject
    before = read(api, token, case)
    stranger = post(
        api, path(case, "/answer"), {"answer": "已附卷"}, token("clerk", subject="clerk-2")
    )
    assert stranger.status_code == 403, stranger.body
    assert read(api, token, case) == before
    answered = post(api, path(case, "/answer"), {"answer": "已附卷，见第12页"}, token("clerk"))
    assert answered.status_code == 200, answered.body
    # the same step waits again: the chief approves, finance completes it
    assert (
        post(api, path(case, "/approve"), {}, token("approver", subject="chief-1")).status_code
        == 200
    )
    assert post(api, path(case, "/approve"), {}, token("finance")).status_code == 200
    assert read(api, token, case)["parties"][0]["receiving_account"]["account_number"] == NEW
    actions = [e["action"] for e in events(api, token, case, "finance")]
    assert actions[-4:] == [
        "receiving_account_returned",
        "receiving_account_answered",
        "receiving_account_step_approved",
        "receiving_account_changed",
    ]


def test_another_courts_staff_cannot_return_or_answer(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    assert post(api, path(case), CHANGE, token("clerk")).status_code == 202
    before = read(api, token, case)
    stranger = token("approver", subject="chief-far", courts=OTHER)
    returned = post(api, path(case, "/return"), {"question": "开户证明是否已附卷？"}, stranger)
    assert returned.status_code == 404
    answered = post(
        api, path(case, "/answer"), {"answer": "已附卷，见第12页"}, token("clerk", courts=OTHER)
    )
    assert answered.status_code == 404
    assert read(api, token, case) == before


def test_the_proposer_withdraws_an_undecided_change_and_nobody_else_can(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    assert post(api, path(case), CHANGE, token("clerk")).status_code == 202
    approval = read(api, token, case)["parties"][0]["pending_account_change"]["approval_id"]
    before = read(api, token, case)
    why = {"reason": "账号录入有误"}
    other = post(api, path(case, "/withdraw"), why, token("clerk", subject="clerk-2"))
    assert other.status_code == 403
    assert problem(other).endswith("approvals/not-requester")
    assert read(api, token, case) == before  # a refused withdrawal stores nothing
    withdrawn = post(api, path(case, "/withdraw"), why, token("clerk"))
    assert withdrawn.status_code == 200, withdrawn.body
    creditor = read(api, token, case)["parties"][0]
    assert creditor["receiving_account"]["account_number"] == OLD
    assert "pending_account_change" not in creditor
    event = events(api, token, case, "finance")[-1]
    assert (event["action"], event["actor"], event["reason"]) == (
        "receiving_account_withdrawn", "clerk-1", "账号录入有误",
    )  # fmt: skip
    assert event["details"]["new"]["account_number"] == NEW
    chain = json.loads(api.get(f"/approvals/{approval}", headers=token("auditor")).body)
    assert chain["status"] == "cancelled"
    late = post(api, path(case, "/approve"), {}, token("approver", subject="chief-1"))
    assert late.status_code == 409  # nothing waits any more
    assert read(api, token, case)["parties"][0]["receiving_account"]["account_number"] == OLD
    assert post(api, path(case), CHANGE, token("clerk")).status_code == 202  # proposed anew
