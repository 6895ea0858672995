"""A proposal sent with an ``Idempotency-Key``: the same key and request give the same
disbursement, another request under the key is refused, and one person's key never reaches
another's disbursement. Twenty threads sending one proposal at once: ``test_races.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.idempotency import IdempotencyKeyInvalid, IdempotencyKeyReused
from chalicelib.identity import Role
from chalicelib.payouts.bodies import ProposeDisbursement
from tests.payouts.conftest import CLERK, World, staff

KEY = "7b0c2f1e-5a4d-4c3b-9e8f-0a1b2c3d4e5f"


def body(world: World, amount: int = 300_000, note: str = "无争议部分") -> ProposeDisbursement:
    return ProposeDisbursement(creditor_party_id=world.creditor_id, amount=amount, note=note)


def test_the_same_key_and_request_give_the_first_disbursement(world: World) -> None:
    first = world.workflow.propose(world.case.case_id, body(world), by=CLERK, idempotency_key=KEY)
    again = world.workflow.propose(world.case.case_id, body(world), by=CLERK, idempotency_key=KEY)
    assert again == first
    assert [d.disbursement_id for d in world.workflow.of_case(world.case.case_id)] == [
        first.disbursement_id
    ]


@pytest.mark.parametrize(
    "changed",
    [{"amount": 300_001}, {"note": "另一笔"}],
    ids=["another amount", "another note"],
)
def test_the_same_key_with_another_request_is_refused_and_stores_nothing(
    world: World, changed: dict[str, Any]
) -> None:
    first = world.workflow.propose(world.case.case_id, body(world), by=CLERK, idempotency_key=KEY)
    with pytest.raises(IdempotencyKeyReused):
        world.workflow.propose(
            world.case.case_id, body(world, **changed), by=CLERK, idempotency_key=KEY
        )
    assert world.workflow.of_case(world.case.case_id) == [first]


def test_one_persons_key_does_not_reach_anothers_disbursement(world: World) -> None:
    first = world.workflow.propose(world.case.case_id, body(world), by=CLERK, idempotency_key=KEY)
    other_clerk = staff(Role.CLERK, "clerk-2", name=CLERK.name)  # a namesake, another subject
    other = world.workflow.propose(
        world.case.case_id, body(world), by=other_clerk, idempotency_key=KEY
    )
    assert other.disbursement_id != first.disbursement_id
    assert len(world.workflow.of_case(world.case.case_id)) == 2


@pytest.mark.parametrize("key", ["short", "has space in it", "键" * 10, "x" * 129])
def test_an_unusable_key_is_refused_before_anything_is_stored(world: World, key: str) -> None:
    with pytest.raises(IdempotencyKeyInvalid):
        world.workflow.propose(world.case.case_id, body(world), by=CLERK, idempotency_key=key)
    assert world.workflow.of_case(world.case.case_id) == []


def test_without_a_key_each_proposal_is_new(world: World) -> None:
    world.workflow.propose(world.case.case_id, body(world), by=CLERK)
    world.workflow.propose(world.case.case_id, body(world), by=CLERK)
    assert len(world.workflow.of_case(world.case.case_id)) == 2


def _propose(api: Any, token: Any, world: World, key: str, amount: str) -> Any:
    return api.post(
        f"/cases/{world.case.case_id}/disbursements",
        headers={**token("clerk", subject="clerk-1"), "Idempotency-Key": key},
        body=json.dumps({"creditor_party_id": world.creditor_id, "amount": amount}).encode(),
    )


def test_through_the_api_a_replay_answers_as_the_first_and_a_changed_body_is_409(
    api: Any, token: Any, world: World
) -> None:
    first = _propose(api, token, world, KEY, "3000.00")
    assert first.status_code == 201, first.body
    replay = _propose(api, token, world, KEY, "3000.00")
    assert (replay.status_code, json.loads(replay.body)) == (201, json.loads(first.body))
    assert replay.headers["Location"] == first.headers["Location"]
    changed = _propose(api, token, world, KEY, "3000.01")
    assert changed.status_code == 409
    assert changed.headers["Content-Type"].startswith("application/problem+json")
    problem = json.loads(changed.body)
    assert problem["type"].endswith("/idempotency-key-reused")
    assert problem["item_id"] == json.loads(first.body)["disbursement_id"]
    bad = _propose(api, token, world, "bad key", "3000.00")
    assert bad.status_code == 422
    listed = api.get(f"/cases/{world.case.case_id}/disbursements", headers=token("auditor"))
    assert len(json.loads(listed.body)["disbursements"]) == 1
