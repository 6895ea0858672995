"""A deferral's and a staff release's chains take questions as the disbursement's own does: an
approver of the waiting step returns it, only the one who asked (by token subject) answers,
the step waits again from the answer, nothing is approved while a question is open, and a
refused question or answer stores nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.approvals import (
    ApprovalStatus,
    NotRequester,
    NotWaiting,
    RequesterCannotDecide,
    StepNeedsRole,
)
from chalicelib.identity import Role
from chalicelib.payouts import DisbursementState, SamePerson, StateRefused
from chalicelib.payouts.bodies import DeferralRequest, ProposeDisbursement
from tests.payouts.conftest import (
    APPROVER,
    CLERK,
    FINANCE,
    FINANCE_2,
    World,
    approve_all,
    staff,
)

S = DisbursementState
EVERY_ROLE = frozenset(Role)


def approved(world: World) -> Any:
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=300_000)
    return approve_all(world.workflow, world.workflow.propose(world.case.case_id, body, by=CLERK))


def versions(world: World, d: Any, chain: str) -> tuple[int, int, int]:
    """The disbursement's version, the chain's version and its history's length."""
    approval = world.workflow.approvals.get(chain)
    return world.workflow.get(d.disbursement_id).version, approval.version, len(approval.history)


def test_a_deferral_is_returned_and_answered_before_it_is_decided(world: World) -> None:
    d = approved(world)
    until = world.clock.now() + timedelta(days=10)
    asked = world.workflow.request_deferral(
        d.disbursement_id, DeferralRequest(reason="案外人提出异议", until=until), by=CLERK
    )
    assert asked.deferral is not None
    chain = asked.deferral.approval_id
    before = versions(world, d, chain)
    # only an approver of the waiting step (the bureau chief's role) returns it
    with pytest.raises(StepNeedsRole):
        world.workflow.return_deferral(d.disbursement_id, by=FINANCE, question="异议何时提出?")
    with pytest.raises(RequesterCannotDecide):  # the clerk who asked, with every role
        world.workflow.return_deferral(
            d.disbursement_id, by=replace(CLERK, roles=EVERY_ROLE, name="另一个名字"),
            question="异议何时提出?",
        )  # fmt: skip
    with pytest.raises(NotWaiting):  # no question is open yet
        world.workflow.answer_deferral(d.disbursement_id, by=CLERK, answer="昨天")
    assert versions(world, d, chain) == before

    returned = world.workflow.return_deferral(
        d.disbursement_id, by=APPROVER, question="异议是否已经立案审查?"
    )
    assert returned.state == S.APPROVED
    assert returned.trail[-1].action == "deferral returned for information"
    assert world.workflow.approvals.get(chain).status == ApprovalStatus.RETURNED
    before = versions(world, d, chain)
    with pytest.raises(NotWaiting):  # not approved while the question is open
        world.workflow.decide_deferral(d.disbursement_id, by=APPROVER, approve=True)
    with pytest.raises(NotRequester):  # another clerk with the same display name
        world.workflow.answer_deferral(
            d.disbursement_id, by=staff(Role.CLERK, "clerk-2", CLERK.name), answer="已立案"
        )
    assert versions(world, d, chain) == before

    world.clock.advance(timedelta(hours=3))
    answered = world.workflow.answer_deferral(
        d.disbursement_id, by=replace(CLERK, name="改名"), answer="已立案审查"
    )
    assert answered.trail[-1].action == "deferral question answered"
    waiting = world.workflow.approvals.get(chain)
    assert waiting.status == ApprovalStatus.PENDING
    assert waiting.waiting_since == world.clock.now()  # the step waits again, from the answer
    deferred = world.workflow.decide_deferral(d.disbursement_id, by=APPROVER, approve=True)
    assert deferred.state == S.DEFERRED
    actions = [h.action.value for h in world.workflow.approvals.get(chain).history]
    assert actions == ["opened", "returned", "answered", "approved"]
    with pytest.raises(StateRefused):  # decided: no further question
        world.workflow.return_deferral(d.disbursement_id, by=APPROVER, question="还有问题?")


def test_a_staff_release_is_returned_and_answered_before_the_money_is_sent(
    world: World,
) -> None:
    d = approved(world)
    asked = world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    request = asked.staff_release_request
    assert request is not None
    chain = request.approval_id
    before = versions(world, d, chain)
    for same in (
        replace(FINANCE, roles=EVERY_ROLE, name="另一个名字"),
        replace(CLERK, roles=EVERY_ROLE),
    ):
        with pytest.raises(SamePerson):  # the one who asked and the proposer never decide
            world.workflow.return_staff_release(d.disbursement_id, by=same, question="为何?")
    with pytest.raises(StepNeedsRole):  # the first step is the bureau chief's
        world.workflow.return_staff_release(d.disbursement_id, by=FINANCE_2, question="为何?")
    assert versions(world, d, chain) == before

    returned = world.workflow.return_staff_release(
        d.disbursement_id, by=APPROVER, question="单位账户是否已核实?"
    )
    assert returned.trail[-1].action == "staff release returned for information"
    before = versions(world, d, chain)
    with pytest.raises(NotWaiting):
        world.sender.decide_staff_release(d.disbursement_id, by=APPROVER, approve=True)
    with pytest.raises(NotRequester):
        world.workflow.answer_staff_release(d.disbursement_id, by=FINANCE_2, answer="已核实")
    assert versions(world, d, chain) == before
    assert world.rail.calls == []

    world.clock.advance(timedelta(hours=1))
    world.workflow.answer_staff_release(d.disbursement_id, by=FINANCE, answer="已向开户行核实")
    waiting = world.workflow.approvals.get(chain)
    assert (waiting.status, waiting.next_step) == (ApprovalStatus.PENDING, 0)
    assert waiting.waiting_since == world.clock.now()
    world.sender.decide_staff_release(d.disbursement_id, by=APPROVER, approve=True)
    sent = world.sender.decide_staff_release(d.disbursement_id, by=FINANCE_2, approve=True)
    assert sent.state != S.APPROVED
    assert world.rail.sent_count() == 1
    actions = [h.action.value for h in world.workflow.approvals.get(chain).history]
    assert actions == ["opened", "returned", "answered", "approved", "approved"]
