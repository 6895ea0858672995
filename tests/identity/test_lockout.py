"""At most five failed face checks per claim in 30 minutes; then the claim is locked, the case
officers are told once (through the notifier, recorded in the claim's trail), the queue shows
it, and only a recorded staff unlock opens it again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.identity.errors import ClaimLocked
from chalicelib.identity.face_decisions import Outcome, Refusal
from chalicelib.notifications import Channel, Delivery, Notification
from chalicelib.wiring import face_checks, face_store
from tests.identity.test_grants import BINDING, Always, Photos


class Refuses(Always):
    def compare(self, reference: bytes, selfie: bytes) -> Any:
        from dataclasses import replace

        return replace(super().compare(reference, selfie), refusal=Refusal.TOO_DARK)


class Recording:
    """A notifier that keeps what it was given; ``fail`` makes the gateway refuse."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.fail = False

    def notify(self, notification: Notification) -> list[Delivery]:
        if self.fail:
            raise ConnectionError("the SMS gateway did not answer")
        self.sent.append(notification)
        return []


OFFICERS = {"粤0604": ["13800000001", "officer@court.example"], "*": ["13900000009"]}


@pytest.fixture
def notices() -> Recording:
    return Recording()


@pytest.fixture
def checks(aws: Any, notices: Recording) -> Any:
    service = face_checks()
    service._photos = Photos()
    service._verifier = lambda: Always(Outcome.NO_MATCH)
    service._notifier = notices
    service._lock_contacts = OFFICERS
    return service


def _fail(checks: Any, times: int, court: str = "粤0604") -> Any:
    result = None
    for _ in range(times):
        result = checks.check(BINDING, b"selfie", court=court, case_number="(2026)粤0604执1号")
    return result


def _notice_events() -> list[Any]:
    return [
        e for e in face_store().claim_events(BINDING.disbursement_id) if e.kind == "lock_notice"
    ]


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
    decisions = [
        e for e in face_store().claim_events(BINDING.disbursement_id) if e.kind == "decision"
    ]
    assert len(decisions) == 5
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


def test_the_lock_tells_the_case_officers_once(checks: Any, notices: Recording) -> None:
    _fail(checks, 4)
    assert notices.sent == []  # not before the lock
    assert _fail(checks, 1).locked
    [notice] = notices.sent
    assert notice.kind == "identity.claim_locked"
    assert notice.case_id == BINDING.case_id
    assert [(r.channel, r.address) for r in notice.recipients] == [
        (Channel.SMS, "13800000001"),
        (Channel.EMAIL, "officer@court.example"),
    ]
    assert "(2026)粤0604执1号" in notice.body
    assert BINDING.disbursement_id in notice.body
    assert "5000.00" in notice.body
    assert "30 分钟内 5 次未通过" in notice.body
    [event] = _notice_events()
    assert event.details["state"] == "sent"
    assert event.details["recipients"] == ["13800000001", "officer@court.example"]
    assert event.details["notification_key"] == notice.key
    # the creditor trying again, and the same lock told again, send nothing more
    with pytest.raises(ClaimLocked):
        checks.check(BINDING, b"selfie", court="粤0604")
    checks._tell_officers(
        BINDING, face_store().claim(BINDING.disbursement_id), court="粤0604", case_number=""
    )
    assert len(notices.sent) == 1
    assert len(_notice_events()) == 1


def test_a_new_lock_after_an_unlock_is_told_again(
    checks: Any, notices: Recording, clock: FixedClock
) -> None:
    _fail(checks, 5)
    checks.unlock(BINDING.disbursement_id, actor="officer-1", reason="creditor came to court")
    clock.advance(timedelta(minutes=1))
    _fail(checks, 5)
    assert len(notices.sent) == 2
    assert len({n.key for n in notices.sent}) == 2
    assert [e.details["state"] for e in _notice_events()] == ["sent", "sent"]


def test_a_court_without_its_own_contact_tells_the_default(checks: Any, notices: Recording) -> None:
    _fail(checks, 5, court="京0101")
    [notice] = notices.sent
    assert [r.address for r in notice.recipients] == ["13900000009"]


def test_a_failed_send_is_recorded_and_the_claim_stays_locked(
    checks: Any, notices: Recording
) -> None:
    notices.fail = True
    assert _fail(checks, 5).locked
    [event] = _notice_events()
    assert event.details["state"] == "failed"
    assert [c.disbursement_id for c in face_store().locked_claims("粤0604")] == ["d-1"]


def test_without_any_contact_the_lock_is_recorded_unsent(checks: Any, notices: Recording) -> None:
    checks._lock_contacts = {}
    assert _fail(checks, 5).locked
    assert notices.sent == []
    [event] = _notice_events()
    assert event.details["state"] == "no_contact"


def test_two_attempts_both_read_four_failures_and_only_one_is_the_fifth(
    checks: Any, notices: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two wrong faces at the same moment, each having read the claim with four failures: the
    first records the fifth and locks; the second's write is refused by the claim's version,
    it reads again, finds the lock and records nothing. The officers are told once."""
    _fail(checks, 4)
    store = face_store()
    read = store.claim
    calls = {"n": 0}

    def read_then_the_other_attempt_lands(disbursement_id: str) -> Any:
        state = read(disbursement_id)
        calls["n"] += 1
        if calls["n"] == 2:  # the second attempt has read its state, not yet written
            monkeypatch.setattr(store, "claim", read)
            assert _fail(checks, 1).locked
        return state

    monkeypatch.setattr(store, "claim", read_then_the_other_attempt_lands)
    with pytest.raises(ClaimLocked):
        _fail(checks, 1)
    state = read(BINDING.disbursement_id)
    assert state.locked
    assert len(state.failures) == 5
    decisions = [e for e in store.claim_events(BINDING.disbursement_id) if e.kind == "decision"]
    assert len(decisions) == 5
    assert len(notices.sent) == 1
