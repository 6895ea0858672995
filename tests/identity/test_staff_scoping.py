"""Face-check staff routes act only in the caller's courts: another court's creditor or locked
claim answers as a missing one, its queue is refused, a higher court reads and unlocks
nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.identity.face_decisions import Outcome
from chalicelib.wiring import face_checks
from tests.cases.test_cases_api import open_case
from tests.identity.test_grants import BINDING, Always, Photos

OTHER = ("粤0605",)
CLAIM = f"/identity/claims/{BINDING.disbursement_id}"


@pytest.fixture
def locked(api: Any, clock: FixedClock) -> None:
    """A claim of 粤0604 locked after five failed face checks."""
    service = face_checks()
    service._photos = Photos()
    service._verifier = lambda: Always(Outcome.NO_MATCH)
    for _ in range(5):
        service.check(BINDING, b"selfie", court="粤0604")
        clock.advance(timedelta(minutes=1))


def _unlock(api: Any, headers: dict[str, str]) -> Any:
    body = json.dumps({"reason": "身份已当面核实"}, ensure_ascii=False).encode()
    return api.post(f"{CLAIM}/unlock", body=body, headers=headers)


def test_another_courts_locked_claim_looks_like_no_claim(
    api: Any, token: Any, locked: None
) -> None:
    stranger = token("clerk", subject="clerk-elsewhere", courts=OTHER)
    unknown = json.loads(api.get("/identity/claims/d-unknown", headers=stranger).body)
    shown = json.loads(api.get(CLAIM, headers=stranger).body)
    assert shown == {**unknown, "disbursement_id": BINDING.disbursement_id}
    assert shown["trail"] == []
    assert shown["locked"] is False
    assert json.loads(_unlock(api, stranger).body)["locked"] is False
    assert json.loads(api.get(CLAIM, headers=token("clerk")).body)["locked"] is True  # unchanged
    queue = api.get("/identity/locked-claims?court=%E7%B2%A40604", headers=stranger)
    assert queue.status_code == 403
    assert BINDING.disbursement_id not in queue.body.decode()


def test_a_higher_court_reads_a_locked_claim_and_cannot_unlock_it(
    api: Any, token: Any, locked: None
) -> None:
    overseer = token("clerk", subject="intermediate-1", courts=("粤06",), oversees=("粤06",))
    assert json.loads(api.get(CLAIM, headers=overseer).body)["recent_failures"] == 5
    answer = _unlock(api, overseer)
    assert answer.status_code == 403
    assert json.loads(answer.body)["type"].endswith("identity/court-not-yours")
    unlocked = _unlock(api, token("clerk"))
    assert unlocked.status_code == 200
    assert json.loads(unlocked.body)["locked"] is False


def test_another_courts_creditor_gets_no_reference_photo(
    api: Any, token: Any, buckets: Any
) -> None:
    case = open_case(api, token)
    path = f"/identity/reference-photos/{case['case_id']}/p1"
    stranger = {
        **token("clerk", subject="clerk-elsewhere", courts=OTHER),
        "Content-Type": "image/jpeg",
    }
    answer = api.put(path, body=b"\xff\xd8 not read", headers=stranger)
    missing = api.put("/identity/reference-photos/no-case/p1", body=b"\xff\xd8", headers=stranger)
    assert answer.status_code == 404
    assert json.loads(answer.body)["type"] == json.loads(missing.body)["type"]
    assert buckets.list_objects_v2(Bucket="courtfunds-test-reference-photos")["KeyCount"] == 0
