"""Refund routes: every step for staff with the right role, problem+json otherwise, and the
public list of a payment's refunds for its receipt."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.collection import CollectionService
from tests.collection.conftest import open_case
from tests.refunds.conftest import paid_online


def post(api: Any, path: str, headers: dict[str, str], body: Any = None) -> Any:
    return api.post(path, headers=headers, body=json.dumps(body or {}, ensure_ascii=False))


def test_a_refund_goes_through_every_staff_route_and_shows_on_the_receipt(
    api: Any, token: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 10_000)
    clerk = token("clerk", subject="clerk-li")
    asked = post(
        api,
        "/refunds",
        clerk,
        {
            "source_kind": "online",
            "source_reference": payment.payment_id,
            "amount": "15.00",
            "reason_code": "paid_by_mistake",
            "note": "错缴",
        },
    )
    assert asked.status_code == 201, asked.body
    refund_id = asked.json_body["id"]
    assert asked.json_body["amount"] == {"fen": 1_500, "currency": "CNY", "yuan": "15.00"}
    assert post(api, f"/refunds/{refund_id}/submit", clerk).json_body["state"] == "submitted"

    own = post(
        api,
        f"/refunds/{refund_id}/decision",
        token("clerk", "approver", subject="clerk-li"),
        {"decision": "approve"},
    )
    assert own.status_code == 403
    assert own.json_body["type"].endswith("approvals/requester-cannot-decide")
    assert (
        post(api, f"/refunds/{refund_id}/decision", clerk, {"decision": "approve"}).status_code
        == 403
    )

    queue = api.get("/refunds?court=%E7%B2%A40604&state=submitted", headers=token("auditor"))
    assert [r["id"] for r in queue.json_body["items"]] == [refund_id]
    chief = token("approver", subject="chief-wang")
    step = post(api, f"/refunds/{refund_id}/decision", chief, {"decision": "approve"})
    assert step.status_code == 200, step.body
    done = post(
        api,
        f"/refunds/{refund_id}/decision",
        token("finance", subject="fin-1"),
        {"decision": "approve", "text": "同意"},
    )
    assert done.json_body["state"] == "paid", done.body

    history = api.get(f"/refunds/{refund_id}/history", headers=token("auditor")).json_body
    assert [h["state"] for h in history["history"]] == [
        "draft",
        "submitted",
        "submitted",
        "approved",
        "processing",
        "paid",
    ]
    assert [h["action"] for h in history["approval"]["history"]] == [
        "opened",
        "approved",
        "approved",
    ]
    shown = api.get(f"/refunds/of-payment/{payment.payment_id}")
    assert shown.status_code == 200
    assert shown.json_body == {
        "items": [
            {
                "amount": {"fen": 1_500, "currency": "CNY", "yuan": "15.00"},
                "status": "paid",
                "updated_at": history["refund"]["updated_at"],
            }
        ]
    }


def test_bad_requests_are_problems_and_nothing_is_stored(
    api: Any, token: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 1_000)
    clerk = token("clerk")
    too_much = post(
        api, "/refunds", clerk,
        {"source_kind": "online", "source_reference": payment.payment_id, "amount": 1_001,
         "reason_code": "overpayment"},
    )  # fmt: skip
    assert too_much.status_code == 409
    assert too_much.json_body["type"].endswith("refunds/exceeds-payment")
    floats = post(
        api, "/refunds", clerk,
        {"source_kind": "online", "source_reference": payment.payment_id, "amount": 10.5,
         "reason_code": "overpayment"},
    )  # fmt: skip
    assert floats.status_code == 422
    other = post(
        api, "/refunds", clerk,
        {"source_kind": "online", "source_reference": payment.payment_id, "amount": 100,
         "reason_code": "other"},
    )  # fmt: skip
    assert other.status_code == 422
    assert post(api, "/refunds", token("auditor"), {}).status_code == 403
    assert api.get("/refunds/rf-missing", headers=clerk).status_code == 404
    assert api.get("/refunds?court=x&state=submitted").status_code == 401
    empty = api.get("/refunds?court=%E7%B2%A40604&state=draft", headers=clerk)
    assert empty.json_body == {"items": []}


def test_a_colleague_neither_submits_nor_withdraws_another_clerks_refund(
    api: Any, token: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 2_000)
    asker = token("clerk", "approver", subject="clerk-a")
    colleague = token("clerk", subject="clerk-b")
    asked = post(
        api, "/refunds", asker,
        {"source_kind": "online", "source_reference": payment.payment_id, "amount": 500,
         "reason_code": "overpayment"},
    )  # fmt: skip
    refund_id = asked.json_body["id"]
    for path, body in (("submit", None), ("cancel", {"reason": "不需要"})):
        refused = post(api, f"/refunds/{refund_id}/{path}", colleague, body)
        assert refused.status_code == 403, refused.body
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json_body["type"].endswith("refunds/not-requester")
    shown = api.get(f"/refunds/{refund_id}/history", headers=asker).json_body
    assert [h["state"] for h in shown["history"]] == ["draft"]
    assert shown["approval"] is None
    assert post(api, f"/refunds/{refund_id}/submit", asker).json_body["state"] == "submitted"
    own = post(api, f"/refunds/{refund_id}/decision", asker, {"decision": "approve"})
    assert own.status_code == 403
    assert own.json_body["type"].endswith("approvals/requester-cannot-decide")
