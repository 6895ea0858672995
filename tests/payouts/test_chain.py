"""Disbursements through the approvals capability: tiers per court, every step allowed or
refused by token subject, return for information and its answer, and what a refused step
leaves behind (nothing)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.approvals import (
    AlreadyApprovedInChain,
    ApprovalStatus,
    ChainKind,
    DecisionIncomplete,
    NotRequester,
    NotWaiting,
    RequesterCannotDecide,
    StepNeedsRole,
    approval_id,
)
from chalicelib.approvals.chains import ChainBook
from chalicelib.identity import Role
from chalicelib.payouts import DisbursementState, SamePerson, StateRefused
from chalicelib.payouts.bodies import DeferralRequest, ProposeDisbursement
from tests.payouts.conftest import (
    APPROVER,
    CLERK,
    FINANCE,
    FINANCE_2,
    LEADER,
    World,
    approve_all,
    fund,
    staff,
)

S = DisbursementState
EVERY_ROLE = frozenset(Role)


def propose(world: World, amount: int) -> Any:
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=amount)
    return world.workflow.propose(world.case.case_id, body, by=CLERK)


def chain_of(world: World, d: Any) -> Any:
    found = world.workflow.approvals.of_item(ChainKind.DISBURSEMENT, d.disbursement_id)
    assert found is not None
    return found


def unchanged(world: World, d: Any, chain_version: int) -> None:
    """A refused step stored nothing: neither the disbursement nor its approval moved."""
    assert world.workflow.get(d.disbursement_id).version == d.version
    assert chain_of(world, d).version == chain_version


@pytest.mark.parametrize(
    ("amount", "titles"),
    [
        (5_000_000, ["bureau chief", "finance"]),  # exactly 50,000.00 yuan: the lower tier
        (5_000_001, ["bureau chief", "court leader", "finance"]),  # one fen above it
    ],
)
def test_the_tier_is_chosen_by_amount_at_the_boundary(
    world: World, amount: int, titles: list[str]
) -> None:
    fund(world.case, 9_000_000, "collection:tier")
    d = propose(world, amount)
    steps = chain_of(world, d).steps
    assert [s.title.split(" ", 1)[1] for s in steps] == titles
    assert d.approvals_needed == len(titles)


def test_a_court_names_its_own_chain_in_the_settings(world: World) -> None:
    book = {
        "courts": {
            "*": {kind.value: {"tiers": [{"steps": [{"role": "approver", "title": "局长"}]}]}
                  for kind in ChainKind},
            "粤0604": {
                "disbursement": {
                    "tiers": [
                        {"up_to_fen": 100_000, "steps": [{"role": "finance", "title": "财务"}]},
                        {"steps": [{"role": "approver", "title": "局长"},
                                   {"role": "approver", "title": "院长"}]},
                    ]
                }
            },
        }
    }  # fmt: skip
    ChainBook.model_validate(book)  # a valid book, as the settings check it
    configured = wiring.settings().model_copy(update={"approval_chains": book})
    wiring.reset()  # the composition root builds the approval service from the new settings
    wiring.override(clock=world.clock, settings=configured, payout_rail=world.rail)
    workflow = wiring.disbursement_workflow()
    small = workflow.propose(
        world.case.case_id,
        ProposeDisbursement(creditor_party_id=world.creditor_id, amount=100_000),
        by=CLERK,
    )
    assert small.approvals_needed == 1
    with pytest.raises(StepNeedsRole):  # this court's small payouts are finance's alone
        workflow.approve(small.disbursement_id, by=APPROVER)
    assert workflow.approve(small.disbursement_id, by=FINANCE).state == S.APPROVED
    large = workflow.propose(
        world.case.case_id,
        ProposeDisbursement(creditor_party_id=world.creditor_id, amount=100_001),
        by=CLERK,
    )
    workflow.approve(large.disbursement_id, by=APPROVER)
    assert workflow.approve(large.disbursement_id, by=LEADER).state == S.APPROVED


def test_the_proposer_with_every_role_takes_no_step_under_any_name(world: World) -> None:
    d = propose(world, 300_000)
    seen = chain_of(world, d).version
    for name in ("王书记员", "另一个名字", ""):
        maker = replace(CLERK, roles=EVERY_ROLE, name=name or CLERK.subject)
        with pytest.raises(RequesterCannotDecide):
            world.workflow.approve(d.disbursement_id, by=maker)
        with pytest.raises(RequesterCannotDecide):
            world.workflow.reject(d.disbursement_id, by=maker, reason="不同意发放")
        with pytest.raises(RequesterCannotDecide):
            world.workflow.return_for_information(d.disbursement_id, by=maker, question="依据?")
        unchanged(world, d, seen)
    world.workflow.approve(d.disbursement_id, by=APPROVER)  # the chief's step, then finance's
    maker = replace(CLERK, roles=EVERY_ROLE, name="财务")
    with pytest.raises(RequesterCannotDecide):
        world.workflow.approve(d.disbursement_id, by=maker)
    assert world.available() == 1_000_000


def test_nobody_approves_twice_and_each_step_needs_its_role(world: World) -> None:
    d = propose(world, 300_000)
    seen = chain_of(world, d).version
    with pytest.raises(StepNeedsRole):  # the chief's step first; finance may not take it
        world.workflow.approve(d.disbursement_id, by=FINANCE)
    unchanged(world, d, seen)
    d = world.workflow.approve(d.disbursement_id, by=staff(Role.APPROVER, "both-1"))
    seen = chain_of(world, d).version
    both = staff(Role.FINANCE, "both-1", name="换了名字")  # the chief again, as finance
    both = replace(both, roles=frozenset({Role.FINANCE, Role.APPROVER}))
    with pytest.raises(AlreadyApprovedInChain):
        world.workflow.approve(d.disbursement_id, by=both)
    unchanged(world, d, seen)
    assert world.workflow.approve(d.disbursement_id, by=FINANCE_2).state == S.APPROVED


def test_returned_for_information_waits_for_the_proposers_answer(world: World) -> None:
    d = propose(world, 300_000)
    returned = world.workflow.return_for_information(
        d.disbursement_id, by=APPROVER, question="和解协议是否已履行?"
    )
    assert returned.state == S.PROPOSED
    assert returned.trail[-1].action == "returned for information"
    assert chain_of(world, d).status == ApprovalStatus.RETURNED
    seen = chain_of(world, d).version
    with pytest.raises(NotWaiting):  # nobody decides while the question is open
        world.workflow.approve(d.disbursement_id, by=LEADER)
    with pytest.raises(NotRequester):  # only the proposer answers, by subject
        world.workflow.answer(d.disbursement_id, by=staff(Role.CLERK, "clerk-2", name=CLERK.name),
                              answer="已履行")  # fmt: skip
    unchanged(world, returned, seen)
    answered = world.workflow.answer(
        d.disbursement_id, by=replace(CLERK, name="改名"), answer="已履行完毕"
    )
    assert answered.trail[-1].detail == "已履行完毕"
    assert chain_of(world, d).status == ApprovalStatus.PENDING
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    assert world.workflow.approve(d.disbursement_id, by=FINANCE).state == S.APPROVED
    actions = [h.action.value for h in chain_of(world, d).history]
    assert actions == ["opened", "returned", "answered", "approved", "approved"]


def test_a_return_needs_a_question_and_a_rejection_a_reason(world: World) -> None:
    d = propose(world, 300_000)
    seen = chain_of(world, d).version
    with pytest.raises(DecisionIncomplete):
        world.workflow.return_for_information(d.disbursement_id, by=APPROVER, question=" ")
    with pytest.raises(DecisionIncomplete):
        world.workflow.reject(d.disbursement_id, by=APPROVER, reason="")
    unchanged(world, d, seen)


def test_a_decided_chain_takes_no_further_step(world: World) -> None:
    rejected = propose(world, 300_000)
    world.workflow.reject(rejected.disbursement_id, by=APPROVER, reason="执行依据有误")
    assert chain_of(world, rejected).status == ApprovalStatus.REJECTED
    for step in (
        lambda: world.workflow.approve(rejected.disbursement_id, by=LEADER),
        lambda: world.workflow.return_for_information(
            rejected.disbursement_id, by=LEADER, question="为何驳回?"
        ),
        lambda: world.workflow.answer(rejected.disbursement_id, by=CLERK, answer="补充材料"),
    ):
        with pytest.raises(StateRefused):
            step()
    approved = approve_all(world.workflow, propose(world, 200_000))
    with pytest.raises(StateRefused):
        world.workflow.approve(approved.disbursement_id, by=LEADER)
    with pytest.raises(StateRefused):
        world.workflow.reject(approved.disbursement_id, by=LEADER, reason="改变主意")
    assert world.available() == 800_000


def test_cancelling_a_proposal_withdraws_its_chain(world: World) -> None:
    d = propose(world, 300_000)
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    cancelled = world.workflow.cancel(d.disbursement_id, by=CLERK, reason="当事人已和解")
    assert cancelled.state == S.CANCELLED
    assert chain_of(world, d).status == ApprovalStatus.CANCELLED
    assert world.available() == 1_000_000


def test_deferral_and_staff_release_chains_refuse_the_one_who_asked_by_subject(
    world: World,
) -> None:
    d = approve_all(world.workflow, propose(world, 300_000))
    until = world.clock.now() + timedelta(days=10)
    asked = world.workflow.request_deferral(
        d.disbursement_id, DeferralRequest(reason="案外人提出异议", until=until), by=CLERK
    )
    assert asked.deferral is not None
    renamed = replace(CLERK, roles=EVERY_ROLE, name="另一个名字")
    with pytest.raises(RequesterCannotDecide):
        world.workflow.decide_deferral(d.disbursement_id, by=renamed, approve=True)
    deferral = world.workflow.approvals.get(asked.deferral.approval_id)
    assert deferral.kind == ChainKind.DEFERRAL
    assert deferral.status == ApprovalStatus.PENDING
    refused = world.workflow.decide_deferral(
        d.disbursement_id, by=APPROVER, approve=False, reason="异议不成立"
    )
    assert refused.deferral is None
    assert world.workflow.approvals.get(asked.deferral.approval_id).status == (
        ApprovalStatus.REJECTED
    )

    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    asker = replace(FINANCE, roles=EVERY_ROLE, name="另一个名字")
    with pytest.raises((SamePerson, RequesterCannotDecide)):
        world.sender.decide_staff_release(d.disbursement_id, by=asker, approve=True)
    request = world.workflow.get(d.disbursement_id).staff_release_request
    assert request is not None
    release_chain = world.workflow.approvals.get(request.approval_id)
    assert release_chain.kind == ChainKind.STAFF_RELEASE
    assert release_chain.history[-1].action.value == "opened"
    assert world.rail.calls == []


def test_the_send_step_reads_the_chain_from_the_approvals_table(world: World) -> None:
    d = approve_all(world.workflow, propose(world, 300_000))
    assert world.workflow.chain_approved(ChainKind.DISBURSEMENT, d.disbursement_id)
    assert not world.workflow.chain_approved(ChainKind.DISBURSEMENT, "D-none")
    assert approval_id(ChainKind.DISBURSEMENT, d.disbursement_id) == (
        f"disbursement:{d.disbursement_id}"
    )
