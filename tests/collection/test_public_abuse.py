"""Anonymous abuse of the public routes: walking account numbers, opening payment after
payment, replaying another payer's idempotency key, and intents for absurd surpluses."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.local import LambdaEventConverter

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.http import ROUTES
from chalicelib.ratelimit import client_key
from tests.collection.conftest import open_case

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def limits(collection: CollectionService) -> None:
    """Rate limits on, small enough to reach in a few calls."""
    wiring.override(
        settings=wiring.settings().model_copy(
            update={
                "rate_limits_on": True,
                "public_lookups_per_window": 3,
                "public_payments_per_window": 2,
                "rate_window_seconds": 60,
            }
        )
    )


def from_address(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """The address API Gateway reports for the next calls (the test client's is fixed)."""
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)


def lookup(api: Any, account: str) -> Any:
    return api.get(f"/collection/cases/{account}")


def start(api: Any, account: str, amount: int, key: str | None = None, **extra: Any) -> Any:
    headers = JSON | ({"Idempotency-Key": key} if key else {})
    body = json.dumps({"amount": amount, **extra}).encode()
    return api.post(f"/collection/cases/{account}/payments", headers=headers, body=body)


def test_lookups_past_the_limit_are_429_with_retry_after(
    api: Any, limits: None, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case()
    from_address(monkeypatch, "203.0.113.7")
    assert [lookup(api, case.account_number).status_code for _ in range(3)] == [200] * 3

    refused = lookup(api, case.account_number)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    problem = json.loads(refused.body)
    assert problem["type"].endswith("/too-many-requests")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert problem["retry_after"] == retry_after
    assert case.case_number not in refused.body.decode()

    from_address(monkeypatch, "198.51.100.9")  # another client is served
    assert lookup(api, case.account_number).status_code == 200

    from_address(monkeypatch, "203.0.113.7")
    clock.advance(timedelta(seconds=retry_after))  # the window turns
    assert lookup(api, case.account_number).status_code == 200


def test_refused_calls_are_not_counted_and_the_table_keeps_no_address(
    api: Any, limits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case()
    from_address(monkeypatch, "203.0.113.8")
    for _ in range(6):
        lookup(api, case.account_number)
    items = wiring.dynamodb().scan(
        TableName=wiring.table_name("COLLECTION_TABLE"),
        FilterExpression="begins_with(pk, :rate)",
        ExpressionAttributeValues={":rate": {"S": "RATE#"}},
    )["Items"]
    [window] = items
    assert window["n"]["N"] == "3"
    assert "203.0.113.8" not in json.dumps(items)
    assert client_key("203.0.113.8") in window["pk"]["S"]
    assert int(window["expires_at"]["N"]) > 0


def test_starting_payments_past_the_limit_is_429_and_opens_nothing(
    api: Any, limits: None, collection: CollectionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case()
    from_address(monkeypatch, "203.0.113.9")
    assert [start(api, case.account_number, 100).status_code for _ in range(2)] == [201, 201]
    assert start(api, case.account_number, 100).status_code == 429
    assert len(collection.store.payments_of_case(case.case_id)) == 2


def test_every_public_route_that_reads_a_case_or_opens_a_payment_is_limited() -> None:
    from chalicelib import route_map

    route_map.load_all()  # every capability's routes in the registry

    guarded = {
        (r.method, r.path): r.rate_limit
        for r in ROUTES
        if r.public and r.path.startswith("/collection/") and "receipt" not in r.path
    }
    unguarded = {k for k, v in guarded.items() if v is None}
    assert unguarded == {("GET", "/collection/payments/{payment_id}")}  # an unguessable id


def test_another_client_replaying_an_idempotency_key_gets_its_own_payment(
    api: Any, collection: CollectionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case()
    key = "5e7c1f0a-2b3d-4c5e-9f60-718293a4b5c6"
    from_address(monkeypatch, "203.0.113.10")
    first = json.loads(start(api, case.account_number, 500, key).body)
    again = json.loads(start(api, case.account_number, 500, key).body)
    assert again["payment"]["payment_id"] == first["payment"]["payment_id"]  # a retry

    from_address(monkeypatch, "198.51.100.11")
    stranger = json.loads(start(api, case.account_number, 500, key).body)
    assert stranger["payment"]["payment_id"] != first["payment"]["payment_id"]
    assert stranger["client_secret"] != first["client_secret"]
    assert len(collection.store.payments_of_case(case.case_id)) == 2


def test_a_surplus_is_capped_at_a_multiple_of_what_remains(
    api: Any, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    absurd = start(api, case.account_number, 10**15, accept_surplus=True)
    assert absurd.status_code == 422
    problem = json.loads(absurd.body)
    assert problem["type"].endswith("collection/amount-refused")
    assert problem["ceiling"] == 20_000
    assert start(api, case.account_number, 20_001, accept_surplus=True).status_code == 422
    assert collection.store.payments_of_case(case.case_id) == []
    assert start(api, case.account_number, 20_000, accept_surplus=True).status_code == 201
