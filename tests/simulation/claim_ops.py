"""Operations on a creditor's payout before it leaves: the creditor's face-verified claim
(matches, failures, photos refused for their quality, a verifier that does not answer, the
lock after five failures and the officer's unlock, the grant spent on the release) and the
deferral (延缓发放) through its chain. Each goes through the services as the claim page's and
the staff's routes call them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib import wiring
from chalicelib.notifications import OutboxNotifier
from chalicelib.payouts import Binding, DisbursementState
from chalicelib.payouts.bodies import DeferralRequest
from chalicelib.payouts.claims import client_key
from chalicelib.payouts.face_grants import binding_of
from tests.payouts.conftest import APPROVER
from tests.simulation.operations import pick
from tests.simulation.simulator import CLERK, Op, World
from tests.simulation.verifier import OTHER_FACE, SELFIES

S = DisbursementState
PHONE = client_key("203.0.113.7")  # the creditor's phone, as the claim routes key it


def _in_state(w: World, *states: DisbursementState) -> list[Any]:
    flow = wiring.disbursement_workflow()
    found = [flow.get(i) for i in w.disbursements]
    return [d for d in found if d.state in states]


def claim_codes(w: World) -> dict[str, str]:
    """The newest claim link each disbursement's creditor was sent, from the SMS outbox."""
    codes: dict[str, str] = {}
    for sent in OutboxNotifier(w.outbox / "notifications.jsonl", clock=w.clock).deliveries():
        if sent.kind == "payout.claim_link":
            disbursement_id = sent.notification_key.split(":")[1]
            codes[disbursement_id] = sent.body.split("/claim#", 1)[1].split()[0]
    return codes


def _waiting_claim(w: World, op: Op) -> tuple[str, Any] | None:
    codes = claim_codes(w)
    waiting = [d for d in _in_state(w, S.APPROVED) if d.disbursement_id in codes]
    d = pick(waiting, op)
    return None if d is None else (codes[d.disbursement_id], d)


def _check(code: str, selfie: bytes) -> Any:
    """``POST /claims/face-check``: the payout comes from the claim the code opens."""
    d = wiring.payout_sender().claim(code, client=PHONE)
    if d.state != S.APPROVED:
        return None
    binding = binding_of(Binding.of(d))
    return wiring.face_checks().check(
        binding, selfie, court=d.court_code, case_number=d.case_number
    )


def face_check(w: World, op: Op) -> str:
    """The creditor's selfie (theirs, someone else's, or too dark); a match gives a grant,
    which the creditor spends at once or later (by then it may have expired)."""
    found = _waiting_claim(w, op)
    if found is None:
        return "nothing"
    code, _ = found
    result = _check(code, SELFIES[op.pick % len(SELFIES)])
    if result is None:
        return "not_waiting"
    if result.grant is not None:
        w.grants.append((code, result.grant))
        if op.pick % 2:
            wiring.payout_sender().release_by_face(code, result.grant, client=PHONE)
            return "released_by_face"
    return "face_locked" if result.locked else f"face_{result.decision.outcome.value}"


def fail_face_checks(w: World, op: Op) -> str:
    """Someone else tries the link five times in a few minutes: the claim locks and the case
    officers are told once."""
    found = _waiting_claim(w, op)
    if found is None:
        return "nothing"
    code, _ = found
    result = None
    for _ in range(5):
        result = _check(code, OTHER_FACE)
        w.clock.advance(timedelta(minutes=1))
    return "face_locked" if result is not None and result.locked else "face_no_match"


def release_by_face(w: World, op: Op) -> str:
    """``POST /claims/release`` with a grant the creditor was given: once, bound to its
    payout; a grant used, expired or for another attempt is refused and stores nothing."""
    if not w.grants:  # the creditor passes the check first, and confirms a moment later
        face_check(w, Op(op.kind, op.pick - op.pick % 10))
    chosen = pick(w.grants, op)
    if chosen is None:
        return "nothing"
    code, grant = chosen
    wiring.payout_sender().release_by_face(code, grant, client=PHONE)
    return "released_by_face"


def unlock_claim(w: World, op: Op) -> str:
    """The case officer checks who tried and unlocks the claim, recorded in its trail."""
    checks = wiring.face_checks()
    locked = checks.locked(w.cases[0].court_code)
    claim = pick(locked, op)
    if claim is None:
        return "nothing"
    checks.unlock(claim.disbursement_id, actor=CLERK.subject, reason="债权人到庭核实身份")
    return "claim_unlocked"


# -- deferral (延缓发放) -------------------------------------------------------------------------


def defer_disbursement(w: World, op: Op) -> str:
    """The clerk asks to defer an approved payout with a reason and an end date; the bureau
    chief approves it (the money stays reserved) or refuses it."""
    flow = wiring.disbursement_workflow()
    d = pick(_in_state(w, S.APPROVED), op)
    if d is None:
        return "nothing"
    if d.deferral is None:
        until = w.clock.now() + timedelta(days=2 + op.pick % 8)
        body = DeferralRequest(reason="债务人提出执行异议，待审查", until=until)
        d = flow.request_deferral(d.disbursement_id, body, by=CLERK)
    approve = op.pick % 3 != 0
    d = flow.decide_deferral(
        d.disbursement_id, by=APPROVER, approve=approve, reason=None if approve else "理由不足"
    )
    return "deferred" if d.state == S.DEFERRED else "deferral_refused"


def resume_disbursement(w: World, op: Op) -> str:
    """A deferral ends: early by the clerk, or on its end date by the sweeper."""
    if not _in_state(w, S.DEFERRED):
        defer_disbursement(w, Op(op.kind, op.pick - op.pick % 3 + 1))
    d = pick(_in_state(w, S.DEFERRED), op)
    if d is None:
        return "nothing"
    if op.pick % 2:
        wiring.disbursement_workflow().resume(d.disbursement_id, by=CLERK)
        return "deferral_ended"
    assert d.deferral is not None
    w.clock.set(max(w.clock.now(), d.deferral.until + timedelta(minutes=1)))
    wiring.payout_sender().sweep()
    return "deferral_ran_out"


ACTIONS = {
    "face_check": face_check,
    "fail_face_checks": fail_face_checks,
    "release_by_face": release_by_face,
    "unlock_claim": unlock_claim,
    "defer_disbursement": defer_disbursement,
    "resume_disbursement": resume_disbursement,
}
