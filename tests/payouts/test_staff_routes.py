"""The staff routes that hold, release and reissue a payout, through the app: a deferral shown
with its reason and end date, a staff release by a second person shown with both people, and a
failed payout reissued; each refused step stores nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from chalicelib.payouts import PayoutStatus
from tests.payouts.conftest import World

DEFERRED_UNTIL = "2026-11-20T00:00:00+08:00"


def _post(api: Any, path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body or {}, ensure_ascii=False).encode()
    return api.post(path, headers=headers, body=data)


def _approved(api: Any, token: Any, world: World) -> str:
    proposed = _post(
        api, f"/cases/{world.case.case_id}/disbursements", token("clerk", subject="clerk-1"),
        {"creditor_party_id": world.creditor_id, "amount": "3000.00"},
    )  # fmt: skip
    d_id = str(json.loads(proposed.body)["disbursement_id"])
    for who in (token("approver", subject="chief-1"), token("finance", subject="finance-9")):
        assert _post(api, f"/disbursements/{d_id}/approve", who).status_code == 200
    return d_id


def _shown(api: Any, token: Any, d_id: str) -> dict[str, Any]:
    answer = api.get(f"/disbursements/{d_id}", headers=token("auditor"))
    assert answer.status_code == 200, answer.body
    return dict(json.loads(answer.body))


def test_a_deferral_is_asked_approved_and_shown_with_its_reason_and_end(
    api: Any, token: Any, world: World
) -> None:
    d_id = _approved(api, token, world)
    clerk, chief = token("clerk", subject="clerk-1"), token("approver", subject="chief-1")
    no_reason = _post(api, f"/disbursements/{d_id}/deferral", clerk, {"until": DEFERRED_UNTIL})
    assert no_reason.status_code == 422
    asked = _post(
        api, f"/disbursements/{d_id}/deferral", clerk,
        {"reason": "案外人提出执行异议", "until": DEFERRED_UNTIL},
    )  # fmt: skip
    assert asked.status_code == 200, asked.body
    before = _shown(api, token, d_id)
    own = _post(
        api, f"/disbursements/{d_id}/deferral/approve", token("approver", subject="clerk-1")
    )
    assert own.status_code == 403  # the clerk who asked, by subject, whatever the role
    assert _shown(api, token, d_id)["version"] == before["version"]
    assert _post(api, f"/disbursements/{d_id}/deferral/approve", chief).status_code == 200
    shown = _shown(api, token, d_id)
    assert shown["state"] == "deferred"
    assert shown["deferral"]["reason"] == "案外人提出执行异议"
    assert shown["deferral"]["until"] == DEFERRED_UNTIL
    assert shown["deferral"]["approved"] is True
    finance = token("finance", subject="finance-1")
    held = _post(api, f"/disbursements/{d_id}/staff-release", finance, {"reason": "单位债权人"})
    assert held.status_code == 409  # nothing is released while deferred
    assert world.rail.calls == []
    assert _post(api, f"/disbursements/{d_id}/resume", chief).status_code == 200
    assert _shown(api, token, d_id)["state"] == "approved"


def test_a_staff_release_by_a_second_person_pays_and_shows_both_people(
    api: Any, token: Any, world: World
) -> None:
    d_id = _approved(api, token, world)
    asker, second = token("finance", subject="finance-1"), token("finance", subject="finance-2")
    chief = token("approver", subject="chief-1")
    path = f"/disbursements/{d_id}/staff-release"
    assert _post(api, path, asker, {"reason": "单位债权人，无手机"}).status_code == 200
    assert _post(api, path + "/confirm", chief).status_code == 200
    own = _post(api, path + "/confirm", asker)
    assert own.status_code == 403
    assert json.loads(own.body)["type"].endswith("payouts/same-person")
    assert world.rail.calls == []
    sent = _post(api, path + "/confirm", second)
    assert sent.status_code == 200, sent.body
    shown = json.loads(sent.body)
    assert shown["state"] == "sent"
    release = shown["release"]
    assert release["label"] == "released by staff without the creditor's face check"
    assert (release["requested_by"], release["released_by"]) == ("finance-1", "finance-2")
    assert release["reason"] == "单位债权人，无手机"
    assert world.rail.sent_count() == 1


def test_a_failed_payout_is_reissued_by_finance_and_needs_a_new_release(
    api: Any, token: Any, world: World
) -> None:
    d_id = _approved(api, token, world)
    asker, second = token("finance", subject="finance-1"), token("finance", subject="finance-2")
    path = f"/disbursements/{d_id}"
    early = _post(api, path + "/reissue", asker)
    assert early.status_code == 409  # only a failed or returned payout is reissued
    _post(api, path + "/staff-release", asker, {"reason": "单位债权人"})
    _post(api, path + "/staff-release/confirm", token("approver", subject="chief-1"))
    sent = json.loads(_post(api, path + "/staff-release/confirm", second).body)
    world.rail.set_status(sent_key(world), PayoutStatus.FAILED, "account closed")
    world.clock.advance(timedelta(hours=1))
    world.sender.sweep()
    failed = _shown(api, token, d_id)
    assert (failed["state"], failed["failure_reason"]) == ("failed", "account closed")
    assert world.available() == 1_000_000
    clerk = _post(api, path + "/reissue", token("clerk", subject="clerk-1"))
    assert clerk.status_code == 403  # finance reissues
    again = _post(api, path + "/reissue", asker, {"note": "开户行已更正"})
    assert again.status_code == 200, again.body
    shown = json.loads(again.body)
    assert (shown["state"], shown["attempt"], shown["release"]) == ("approved", 2, None)
    assert world.available() == 1_000_000 - sent["amount"]["fen"]
    assert world.rail.sent_count() == 1  # nothing sent again without a new release


def sent_key(world: World) -> str:
    [key] = world.rail.payouts
    return key
