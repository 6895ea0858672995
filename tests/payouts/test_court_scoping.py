"""Disbursements act only in the caller's courts: another court's case or disbursement answers
as a missing one and moves nothing, its queue is refused, a higher court reads and changes
nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.payouts.conftest import World

OTHER = ("粤0605",)


def _post(api: Any, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return api.post(path, headers=headers, body=json.dumps(body, ensure_ascii=False).encode())


def _proposed(api: Any, token: Any, world: World) -> str:
    proposed = _post(
        api,
        f"/cases/{world.case.case_id}/disbursements",
        token("clerk", subject="clerk-1"),
        {"creditor_party_id": world.creditor_id, "amount": "3000.00"},
    )
    assert proposed.status_code == 201, proposed.body
    return str(json.loads(proposed.body)["disbursement_id"])


def test_another_courts_disbursements_answer_as_missing(api: Any, token: Any, world: World) -> None:
    stranger = token("clerk", subject="clerk-elsewhere", courts=OTHER)
    propose = {"creditor_party_id": world.creditor_id, "amount": "3000.00"}
    refused = _post(api, f"/cases/{world.case.case_id}/disbursements", stranger, propose)
    missing_case = _post(api, "/cases/no-such-case/disbursements", stranger, propose)
    assert refused.status_code == 404
    assert json.loads(refused.body)["type"] == json.loads(missing_case.body)["type"]
    listed = api.get(f"/cases/{world.case.case_id}/disbursements", headers=token("auditor"))
    assert json.loads(listed.body)["disbursements"] == []  # nothing was proposed

    d = _proposed(api, token, world)
    reader = token("auditor", subject="auditor-elsewhere", courts=OTHER)
    missing = api.get("/disbursements/no-such-one", headers=reader)
    for path in (f"/disbursements/{d}", f"/cases/{world.case.case_id}/disbursements"):
        answer = api.get(path, headers=reader)
        assert answer.status_code == 404, path
        assert world.case.case_number not in answer.body.decode()
    assert (
        json.loads(api.get(f"/disbursements/{d}", headers=reader).body)["type"]
        == json.loads(missing.body)["type"]
    )
    chief = token("approver", subject="chief-elsewhere", courts=OTHER)
    assert _post(api, f"/disbursements/{d}/approve", chief, {}).status_code == 404
    shown = json.loads(api.get(f"/disbursements/{d}", headers=token("auditor")).body)
    assert shown["state"] == "proposed"
    queue = api.get("/disbursements?court=粤0604&state=proposed", headers=reader)
    assert queue.status_code == 403
    assert d not in queue.body.decode()


def test_a_higher_court_reads_disbursements_and_changes_nothing(
    api: Any, token: Any, world: World
) -> None:
    d = _proposed(api, token, world)
    overseer = token("approver", subject="intermediate-1", courts=("粤06",), oversees=("粤06",))
    assert api.get(f"/disbursements/{d}", headers=overseer).status_code == 200
    queue = api.get("/disbursements?court=粤0604&state=proposed", headers=overseer)
    assert [i["disbursement_id"] for i in json.loads(queue.body)["items"]] == [d]
    answer = _post(api, f"/disbursements/{d}/approve", overseer, {})
    assert answer.status_code == 403
    assert json.loads(answer.body)["type"].endswith("identity/court-not-yours")
