"""Refunds act only in the caller's courts: another court's refund or payment answers as a
missing one and nothing is stored, its queue is refused, a higher court reads and changes
nothing."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from tests.collection.conftest import open_case
from tests.refunds.conftest import counter_cash

OTHER = ("粤0605",)
QUEUE = "/refunds?court=%E7%B2%A40604&state=draft"


def post(api: Any, path: str, headers: dict[str, str], body: Any = None) -> Any:
    return api.post(path, headers=headers, body=json.dumps(body or {}, ensure_ascii=False))


def _asking(reference: str) -> dict[str, Any]:
    return {
        "source_kind": "counter_cash",
        "source_reference": reference,
        "amount": "20.00",
        "reason_code": "overpayment",
    }


def test_another_courts_payment_and_refund_answer_as_missing(
    api: Any, token: Any, collection: CollectionService, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 5_000, entry="cash-scoped")
    stranger = token("clerk", "finance", subject="clerk-elsewhere", courts=OTHER)
    unknown = post(api, "/refunds", stranger, _asking("cash-nowhere"))
    refused = post(api, "/refunds", stranger, _asking("cash-scoped"))
    assert refused.status_code == 404
    assert refused.json_body["type"] == unknown.json_body["type"]
    assert api.get(QUEUE, headers=token("auditor")).json_body["items"] == []  # nothing stored

    asked = post(api, "/refunds", token("clerk", subject="clerk-li"), _asking("cash-scoped"))
    assert asked.status_code == 201, asked.body
    refund_id = asked.json_body["id"]
    missing = api.get("/refunds/rf-nope", headers=stranger)
    for path in (f"/refunds/{refund_id}", f"/refunds/{refund_id}/history"):
        answer = api.get(path, headers=stranger)
        assert answer.status_code == 404, path
        assert answer.json_body["type"] == missing.json_body["type"]
        assert case.case_number not in answer.body.decode()
    for path in ("submit", "cancel", "reissue", "bank-payment/confirm"):
        answer = post(api, f"/refunds/{refund_id}/{path}", stranger, {"reason": "not mine"})
        assert answer.status_code == 404, (path, answer.body)
    assert api.get(f"/refunds/{refund_id}", headers=token("clerk")).json_body["state"] == "draft"

    queue = api.get(QUEUE, headers=stranger)
    assert queue.status_code == 403
    assert refund_id not in queue.body.decode()


def test_a_higher_court_reads_refunds_and_changes_nothing(
    api: Any, token: Any, collection: CollectionService, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 5_000, entry="cash-overseen")
    asked = post(api, "/refunds", token("clerk", subject="clerk-li"), _asking("cash-overseen"))
    refund_id = asked.json_body["id"]
    overseer = token(
        "clerk", "finance", subject="intermediate-1", courts=("粤06",), oversees=("粤06",)
    )
    assert api.get(f"/refunds/{refund_id}", headers=overseer).status_code == 200
    assert [r["id"] for r in api.get(QUEUE, headers=overseer).json_body["items"]] == [refund_id]
    answer = post(api, f"/refunds/{refund_id}/submit", overseer)
    assert answer.status_code == 403
    assert answer.json_body["type"].endswith("identity/court-not-yours")
    again = post(api, "/refunds", overseer, _asking("cash-overseen"))
    assert again.status_code == 403
    assert len(api.get(QUEUE, headers=overseer).json_body["items"]) == 1
