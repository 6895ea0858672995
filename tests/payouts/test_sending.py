"""The money leaves: release, send, settle; crashes between any two steps; failures, returns
and reissue; and never a payout without a valid release."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.payouts import (
    Binding,
    Disbursement,
    DisbursementState,
    GrantRefused,
    PayoutStatus,
    ReleaseInvalid,
    SamePerson,
    StateRefused,
)
from chalicelib.payouts.bodies import ProposeDisbursement
from chalicelib.payouts.models import Release, ReleaseKind
from chalicelib.wiring import ledger_service
from tests.payouts.conftest import (
    APPROVER,
    CLERK,
    FINANCE,
    FINANCE_2,
    Crash,
    SignedGrants,
    World,
    approve_all,
    release_by_staff,
)

S = DisbursementState
AMOUNT = 300_000


def approved(world: World, amount: int = AMOUNT) -> Disbursement:
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=amount)
    d = world.workflow.propose(world.case.case_id, body, by=CLERK)
    return approve_all(world.workflow, d)  # type: ignore[no-any-return]


def staff_release(world: World, d: Disbursement) -> Disbursement:
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    return release_by_staff(world.sender, d)  # type: ignore[no-any-return]


def sweep_later(world: World, hours: int = 1) -> None:
    world.clock.advance(timedelta(hours=hours))
    world.sender.sweep()


def assert_paid_once(world: World, d: Disbursement) -> None:
    assert world.workflow.get(d.disbursement_id).state == S.PAID
    assert world.rail.sent_count() == 1
    assert world.posted() == 1_000_000 - AMOUNT
    assert world.available() == 1_000_000 - AMOUNT
    assert world.in_transit() == AMOUNT


def test_a_staff_release_sends_once_and_the_rail_confirmation_posts_it(world: World) -> None:
    d = staff_release(world, approved(world))
    assert d.state == S.SENT
    assert d.release is not None
    assert d.release.kind == ReleaseKind.STAFF
    assert world.posted() == 1_000_000  # reserved, not posted, until the rail confirms
    world.rail.set_status(d.rail_key, PayoutStatus.PAID)
    sweep_later(world)
    assert_paid_once(world, d)


def test_the_same_finance_member_cannot_approve_their_own_request(world: World) -> None:
    d = approved(world)
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    world.sender.decide_staff_release(d.disbursement_id, by=APPROVER, approve=True)
    with pytest.raises(SamePerson):
        world.sender.decide_staff_release(d.disbursement_id, by=FINANCE, approve=True)
    assert world.rail.calls == []
    assert world.workflow.get(d.disbursement_id).state == S.APPROVED


def test_a_refused_staff_release_sends_nothing_and_may_be_asked_again(world: World) -> None:
    d = approved(world)
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    refused = world.sender.decide_staff_release(
        d.disbursement_id, by=APPROVER, approve=False, reason="应由本人刷脸领取"
    )
    assert refused.state == S.APPROVED
    assert refused.staff_release_request is None
    assert world.rail.calls == []
    assert staff_release(world, d).state == S.SENT


def test_a_webhook_notice_settles_by_reading_the_payout_back(world: World) -> None:
    d = staff_release(world, approved(world))
    world.rail.set_status(d.rail_key, PayoutStatus.PAID)
    notice = json.dumps({"id": "evt_1", "type": "x", "reference": d.rail_reference}).encode()
    assert world.sender.on_webhook(notice, {})["state"] == "paid"
    assert world.sender.on_webhook(notice, {})["state"] == "paid"  # a duplicate changes nothing
    assert_paid_once(world, d)


def _force(world: World, d: Disbursement, **changes: Any) -> Disbursement:
    """Write a disbursement as an attacker with table access (or a bug) would."""
    forced = d.model_copy(update={**changes, "version": d.version + 1})
    world.workflow.store.save(forced, expected_version=d.version)
    return forced


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param({"state": S.RELEASED}, id="no release recorded"),
        pytest.param({"state": S.RELEASED}, id="approval chain incomplete"),
        pytest.param({"state": S.RELEASED, "release": "same-person"}, id="staff release by one"),
        pytest.param({"state": S.RELEASED, "release": "old-attempt"}, id="an old attempt's"),
    ],
)
def test_a_disbursement_is_never_sent_without_a_valid_release(
    world: World, forgery: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    if "incomplete" in request.node.callspec.id:
        # the chain still waits for finance; the record is forged to say released
        body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=AMOUNT)
        d = world.workflow.propose(world.case.case_id, body, by=CLERK)
        d = world.workflow.approve(d.disbursement_id, by=APPROVER)
        forgery["release"] = "valid"
    else:
        d = approved(world)
    release = forgery.get("release")
    if release is not None:
        forgery["release"] = Release(
            kind=ReleaseKind.STAFF, at=world.clock.now(), requested_by="finance-1",
            attempt=d.attempt - 1 if release == "old-attempt" else d.attempt,
            released_by="finance-1" if release == "same-person" else "finance-2",
        )  # fmt: skip
    forced = _force(world, d, **forgery)
    with pytest.raises(ReleaseInvalid):
        world.sender.send(forced)
    sweep_later(world)  # the sweeper goes through the same step
    assert world.rail.calls == []
    assert world.workflow.get(d.disbursement_id).state == S.RELEASED


def _grant_for(d: Disbursement, **changes: Any) -> str:
    return SignedGrants.issue(Binding.of(d).model_copy(update=changes))


def test_a_face_grant_bound_to_this_payout_releases_it(world: World) -> None:
    d = approved(world)
    code = world.claim_codes()[0]
    sent = world.sender.release_by_face(code, _grant_for(d), client="c")
    assert sent.state == S.SENT
    assert sent.release is not None
    assert sent.release.kind == ReleaseKind.FACE
    assert world.rail.sent_count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": AMOUNT + 1},
        {"creditor_party_id": "someone-else"},
        {"case_id": "another-case"},
        {"destination_account": "6222000000000000000"},
        {"attempt": 2},
    ],
    ids=["amount", "creditor", "case", "destination", "attempt"],
)
def test_a_grant_bound_to_anything_else_is_refused_and_stores_nothing(
    world: World, changes: dict[str, Any]
) -> None:
    d = approved(world)
    code = world.claim_codes()[0]
    with pytest.raises(GrantRefused):
        world.sender.release_by_face(code, _grant_for(d, **changes), client="c")
    assert world.workflow.get(d.disbursement_id).version == d.version
    assert world.rail.calls == []


def test_a_used_grant_is_refused_in_the_same_transaction(world: World, aws: Any) -> None:
    d = approved(world)
    code = world.claim_codes()[0]
    table = world.workflow.store.table
    aws.put_item(TableName=table, Item={"pk": {"S": "GRANT#g-1"}, "sk": {"S": "USED"}})
    with pytest.raises(GrantRefused):
        world.sender.release_by_face(code, _grant_for(d), client="c")
    assert world.workflow.get(d.disbursement_id).state == S.APPROVED
    assert world.rail.calls == []


def test_a_payout_that_fails_returns_the_money_and_can_be_reissued(world: World) -> None:
    d = staff_release(world, approved(world))
    world.rail.set_status(d.rail_key, PayoutStatus.FAILED, "account closed")
    sweep_later(world)
    failed = world.workflow.get(d.disbursement_id)
    assert failed.state == S.FAILED
    assert failed.failure_reason == "account closed"
    assert world.available() == 1_000_000
    assert world.posted() == 1_000_000
    again = world.workflow.reissue(d.disbursement_id, by=FINANCE)
    assert again.state == S.APPROVED
    assert again.attempt == 2
    assert world.available() == 1_000_000 - AMOUNT
    sent = staff_release(world, again)
    assert sent.rail_key != d.rail_key
    world.rail.set_status(sent.rail_key, PayoutStatus.PAID)
    sweep_later(world)
    assert world.workflow.get(d.disbursement_id).state == S.PAID
    assert world.posted() == 1_000_000 - AMOUNT
    assert world.in_transit() == AMOUNT


def test_money_returned_by_the_bank_after_payment_is_back_in_the_case(world: World) -> None:
    d = staff_release(world, approved(world))
    world.rail.set_status(d.rail_key, PayoutStatus.PAID)
    sweep_later(world)
    world.rail.set_status(d.rail_key, PayoutStatus.RETURNED, "returned by the bank: R03")
    notice = json.dumps({"id": "evt_2", "type": "x", "reference": d.rail_reference}).encode()
    world.sender.on_webhook(notice, {})
    world.sender.on_webhook(notice, {})
    returned = world.workflow.get(d.disbursement_id)
    assert returned.state == S.RETURNED
    assert returned.failure_reason == "returned by the bank: R03"
    assert world.posted() == 1_000_000
    assert world.available() == 1_000_000
    assert world.in_transit() == 0
    assert ledger_service().verify(world.case.account_number).ok


def _crash_after_saving(world: World, state: DisbursementState) -> None:
    """Die right after the write that records ``state`` (a plain save, or one committed with
    an approval step)."""
    store, workflow = world.workflow.store, world.workflow
    save, commit = store.save, workflow.commit

    def restore() -> None:
        store.save = save  # type: ignore[method-assign]
        workflow.commit = commit  # type: ignore[method-assign]

    def crashing_save(d: Disbursement, **kwargs: Any) -> None:
        save(d, **kwargs)
        if d.state == state:
            restore()
            raise Crash(state.value)

    def crashing_commit(planned: Any, before: Disbursement, after: Disbursement, *a: Any) -> Any:
        done = commit(planned, before, after, *a)
        if after.state == state:
            restore()
            raise Crash(state.value)
        return done

    store.save = crashing_save  # type: ignore[method-assign]
    workflow.commit = crashing_commit  # type: ignore[method-assign]


def _crash_after_posting(world: World) -> None:
    ledger = world.sender._ledger
    original = ledger.post_pending

    def post_pending(*args: Any, **kwargs: Any) -> Any:
        ledger.post_pending = original  # type: ignore[method-assign]
        original(*args, **kwargs)
        raise Crash("posted")

    ledger.post_pending = post_pending  # type: ignore[method-assign]


CRASHES: dict[str, Callable[[World], None]] = {
    "after the release is recorded": lambda w: _crash_after_saving(w, S.RELEASED),
    "after the key is recorded, before the rail call": lambda w: _crash_after_saving(w, S.SENDING),
    "after the rail call, before its answer is recorded": lambda w: setattr(
        w.rail, "crash_after", "send"
    ),
    "after the answer is recorded": lambda w: _crash_after_saving(w, S.SENT),
}


@pytest.mark.parametrize("crash", list(CRASHES), ids=list(CRASHES))
def test_a_crash_between_steps_is_finished_by_the_sweeper_paying_once(
    world: World, crash: str
) -> None:
    d = approved(world)
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    world.sender.decide_staff_release(d.disbursement_id, by=APPROVER, approve=True)
    CRASHES[crash](world)
    with pytest.raises(Crash):
        world.sender.decide_staff_release(d.disbursement_id, by=FINANCE_2, approve=True)
    sweep_later(world)
    sweep_later(world)  # a second run finds nothing more to send
    assert world.rail.sent_count() == 1
    after = world.workflow.get(d.disbursement_id)
    assert after.state == S.SENT
    world.rail.set_status(after.rail_key, PayoutStatus.PAID)
    _crash_after_posting(world)  # and the settling run dies after the ledger posted
    sweep_later(world)
    sweep_later(world)
    assert_paid_once(world, d)


def test_a_rail_that_does_not_answer_leaves_the_payout_for_the_sweeper(world: World) -> None:
    d = approved(world)
    world.rail.unavailable = 1
    sending = staff_release(world, d)
    assert sending.state == S.SENDING
    sweep_later(world)
    assert world.workflow.get(d.disbursement_id).state == S.SENT
    assert world.rail.calls == ["send", "find", "send"]  # asked before sending again
    assert world.rail.sent_count() == 1


def test_a_deferral_ends_by_itself_on_its_end_date(world: World) -> None:
    from chalicelib.payouts.bodies import DeferralRequest

    d = approved(world)
    until = world.clock.now() + timedelta(days=3)
    world.workflow.request_deferral(
        d.disbursement_id, DeferralRequest(reason="等待异议审查", until=until), by=CLERK
    )
    world.workflow.decide_deferral(d.disbursement_id, by=APPROVER, approve=True)
    with pytest.raises(StateRefused):
        staff_release(world, d)
    world.clock.advance(timedelta(days=3, minutes=1))
    assert world.sender.sweep().resumed == 1
    assert world.workflow.get(d.disbursement_id).state == S.APPROVED


def test_an_unreleased_reservation_expires_and_the_money_is_free_again(world: World) -> None:
    d = approved(world)
    world.clock.advance(timedelta(days=56))
    assert world.sender.sweep().expired == 1
    assert world.workflow.get(d.disbursement_id).state == S.EXPIRED
    assert world.available() == 1_000_000


def test_an_ended_disbursement_leaves_no_request_waiting_for_approvers(world: World) -> None:
    """Cancelled while a staff release waits for its chain, or expired while a deferral waits:
    neither request stays in the approvers' queues, and each chain's history says why."""
    from chalicelib.approvals import ApprovalStatus
    from chalicelib.payouts.bodies import DeferralRequest

    cancelled = approved(world)
    world.workflow.request_staff_release(cancelled.disbursement_id, by=FINANCE, reason="单位债权人")
    expiring = approved(world, amount=100_000)
    until = world.clock.now() + timedelta(days=3)
    world.workflow.request_deferral(
        expiring.disbursement_id, DeferralRequest(reason="等待异议审查", until=until), by=CLERK
    )
    court = world.case.court_code
    assert len(world.workflow.approvals.waiting_for(APPROVER, court)) == 2
    world.workflow.cancel(cancelled.disbursement_id, by=CLERK, reason="当事人已和解")
    world.clock.advance(timedelta(days=56))
    assert world.sender.sweep().expired == 1
    for d in (cancelled, expiring):
        ended = world.workflow.get(d.disbursement_id)
        asked = ended.staff_release_request or ended.deferral
        assert asked is not None
        chain = world.workflow.approvals.get(asked.approval_id)
        assert chain.status == ApprovalStatus.CANCELLED
        assert chain.history[-1].text == f"the disbursement was {ended.state.value}"
    assert world.workflow.approvals.waiting_for(APPROVER, court) == []
    assert world.workflow.approvals.waiting_for(FINANCE_2, court) == []
    assert world.available() == 1_000_000
