"""At most five failed face checks per claim in 30 minutes; then the claim is locked, the case
officers' queue shows it, and only a recorded staff unlock opens it again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.identity.errors import ClaimLocked
from chalicelib.identity.face_decisions import Outcome, Refusal
from chalicelib.wiring import face_checks, face_store
from tests.identity.test_grants import BINDING, Always, Photos


class Refuses(Always):
    def compare(self, reference: bytes, selfie: bytes) -> Any:
        from dataclasses import replace

        return replace(super().compare(reference, selfie), refusal=Refusal.TOO_DARK)


@pytest.fixture
def checks(aws: Any) -> Any:
    service = face_checks()
    service._photos = Photos()
    service._verifier = lambda: Always(Outcome.NO_MATCH)
    return service


def test_the_fifth_failure_locks_the_claim(checks: Any, clock: FixedClock) -> None:
    results = []
    for _ in range(5):
        results.append(checks.check(BINDING, b"selfie", court="粤0604"))
        clock.advance(timedelta(minutes=1))
    assert [r.attempts_left for r in results] == [4, 3, 2, 1, 0]
    assert [r.locked for r in results] == [False, False, False, False, True]
    checks._verifier = lambda: Always(Outcome.MATCH)
    with pytest.raises(ClaimLocked) as raised:
        checks.check(BINDING, b"the right face now", court="粤0604")
    assert raised.value.status == 423
    # the refused attempt stored nothing
    assert len(face_store().claim_events(BINDING.disbursement_id)) == 5
    queue = face_store().locked_claims("粤0604")
    assert [c.disbursement_id for c in queue] == [BINDING.disbursement_id]


def test_failures_older_than_the_window_do_not_count(checks: Any, clock: FixedClock) -> None:
    for _ in range(4):
        checks.check(BINDING, b"selfie", court="粤0604")
    clock.advance(timedelta(minutes=31))
    result = checks.check(BINDING, b"selfie", court="粤0604")
    assert not result.locked
    assert result.attempts_left == 4


def test_a_photo_refused_for_its_quality_is_not_a_failure(checks: Any) -> None:
    checks._verifier = lambda: Refuses(Outcome.REFUSED)
    for _ in range(6):
        result = checks.check(BINDING, b"dark selfie", court="粤0604")
    assert not result.locked
    assert result.decision.refusal is Refusal.TOO_DARK
    assert result.as_dict()["advice"]["en"].startswith("more light")


def test_unlocking_is_a_recorded_staff_action(checks: Any, clock: FixedClock) -> None:
    for _ in range(5):
        checks.check(BINDING, b"selfie", court="粤0604")
    checks.unlock(BINDING.disbursement_id, actor="officer-1", reason="creditor came to court")
    assert face_store().locked_claims("粤0604") == []
    trail = face_store().claim_events(BINDING.disbursement_id)
    assert trail[-1].kind == "unlock"
    assert trail[-1].actor == "officer-1"
    assert trail[-1].details == {"reason": "creditor came to court"}
    checks._verifier = lambda: Always(Outcome.MATCH)
    assert checks.check(BINDING, b"selfie", court="粤0604").grant is not None
