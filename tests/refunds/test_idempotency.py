"""A refund request sent with an ``Idempotency-Key``: the same key and request give the same
refund, another request under the key is refused with nothing stored, and another person's
same key is a refund of their own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.idempotency import IdempotencyKeyReused
from chalicelib.refunds import RefundService
from chalicelib.refunds.models import RequestRefund
from tests.collection.conftest import open_case
from tests.refunds.conftest import CLERK, counter_cash, person

KEY = "0f6c1d2e-3b4a-4c5d-8e9f-a0b1c2d3e4f5"


def asked(amount: int = 1_000, note: str = "错缴") -> RequestRefund:
    return RequestRefund.model_validate(
        {
            "source_kind": "counter_cash",
            "source_reference": "cash-1",
            "amount": amount,
            "reason_code": "paid_by_mistake",
            "note": note,
        }
    )


def test_the_same_key_and_request_give_the_first_refund(
    refunds: RefundService, collection: CollectionService, clock: FixedClock
) -> None:
    counter_cash(collection, clock, open_case(amount=10_000), 5_000)
    first = refunds.request(asked(), by=CLERK, idempotency_key=KEY)
    assert refunds.request(asked(), by=CLERK, idempotency_key=KEY) == first
    with pytest.raises(IdempotencyKeyReused):
        refunds.request(asked(amount=1_001), by=CLERK, idempotency_key=KEY)
    with pytest.raises(IdempotencyKeyReused):
        refunds.request(asked(note="另一笔"), by=CLERK, idempotency_key=KEY)
    other = refunds.request(asked(), by=person("clerk-2", *CLERK.roles), idempotency_key=KEY)
    assert other.refund_id != first.refund_id
    without_key = refunds.request(asked(), by=CLERK)
    assert len({first.refund_id, other.refund_id, without_key.refund_id}) == 3
    assert refunds.get(first.refund_id) == first  # the refused requests changed nothing


def test_through_the_api_a_replay_is_the_first_answer_and_a_changed_body_409(
    api: Any,
    token: Any,
    refunds: RefundService,
    collection: CollectionService,
    clock: FixedClock,
) -> None:
    counter_cash(collection, clock, open_case(amount=10_000), 5_000)

    def send(amount: str, key: str = KEY) -> Any:
        body = asked().model_dump(mode="json") | {"amount": amount}
        headers = {**token("clerk", subject="clerk-li"), "Idempotency-Key": key}
        return api.post("/refunds", headers=headers, body=json.dumps(body, ensure_ascii=False))

    first = send("10.00")
    assert first.status_code == 201, first.body
    replay = send("10.00")
    assert (replay.status_code, replay.json_body) == (201, first.json_body)
    changed = send("10.01")
    assert changed.status_code == 409
    assert changed.json_body["type"].endswith("/idempotency-key-reused")
    assert send("10.00", key="no").status_code == 422
    drafts = api.get("/refunds?court=%E7%B2%A40604&state=draft", headers=token("auditor"))
    assert [r["id"] for r in drafts.json_body["items"]] == [first.json_body["id"]]
