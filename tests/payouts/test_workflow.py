"""Proposing, approving in tiers, rejecting, cancelling, deferring: who may, and what the
ledger holds after each step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.approvals import AlreadyApprovedInChain, RequesterCannotDecide
from chalicelib.identity import Role
from chalicelib.payouts import (
    DisbursementState,
    OverAvailable,
    SamePerson,
    StateRefused,
)
from chalicelib.payouts.bodies import DeferralRequest, ProposeDisbursement
from chalicelib.payouts.errors import CreditorRefused
from tests.payouts.conftest import (
    APPROVER,
    CLERK,
    FINANCE,
    LEADER,
    World,
    approve_all,
    fund,
    staff,
)

S = DisbursementState


def propose(world: World, amount: int, **changes: object) -> object:
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=amount, **changes)  # type: ignore[arg-type]
    return world.workflow.propose(world.case.case_id, body, by=CLERK)


def test_a_proposal_waits_for_approval_and_reserves_nothing(world: World) -> None:
    d = propose(world, 300_000)
    assert d.state == S.PROPOSED
    assert d.approvals_needed == 2  # the bureau chief, then finance
    assert world.available() == 1_000_000


def test_more_than_available_is_refused_and_stores_nothing(world: World) -> None:
    with pytest.raises(OverAvailable):
        propose(world, 1_000_001)
    assert world.workflow.store.of_case(world.case.case_id) == []


def test_only_a_creditor_of_the_case_with_a_confirmed_account_is_paid(world: World) -> None:
    debtor = next(p.party_id for p in world.case.parties if p.role.value == "debtor")
    body = ProposeDisbursement(creditor_party_id=debtor, amount=100)
    with pytest.raises(CreditorRefused):
        world.workflow.propose(world.case.case_id, body, by=CLERK)
    assert world.workflow.store.of_case(world.case.case_id) == []


def test_approval_reserves_the_money_for_the_creditor(world: World) -> None:
    d = propose(world, 300_000)
    once = world.workflow.approve(d.disbursement_id, by=APPROVER)
    assert once.state == S.PROPOSED
    assert world.available() == 1_000_000  # nothing reserved before the chain completes
    approved = world.workflow.approve(d.disbursement_id, by=FINANCE)
    assert approved.state == S.APPROVED
    assert world.available() == 700_000  # reserved: pending debit
    assert world.posted() == 1_000_000  # nothing has left yet


def test_the_proposer_never_approves_even_under_another_name(world: World) -> None:
    d = propose(world, 300_000)
    same_subject = staff(Role.APPROVER, CLERK.subject, name="另一个名字")
    with pytest.raises(RequesterCannotDecide):
        world.workflow.approve(d.disbursement_id, by=same_subject)
    assert world.workflow.get(d.disbursement_id).approvals == ()


def test_a_display_name_does_not_make_two_people_one(world: World) -> None:
    d = propose(world, 300_000)
    namesake = staff(Role.APPROVER, "chief-9", name=CLERK.name)
    assert len(world.workflow.approve(d.disbursement_id, by=namesake).approvals) == 1


def test_above_the_tier_limit_a_court_leader_approves_too(world: World) -> None:
    fund(world.case, 9_000_000, "collection:test-2")  # 100,000 yuan held in all
    d = propose(world, 6_000_000)  # 60,000 yuan: above the 50,000 yuan tier
    assert d.approvals_needed == 3
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    with pytest.raises(AlreadyApprovedInChain):
        world.workflow.approve(d.disbursement_id, by=APPROVER)
    world.workflow.approve(d.disbursement_id, by=LEADER)
    assert world.available() == 10_000_000
    assert world.workflow.approve(d.disbursement_id, by=FINANCE).state == S.APPROVED
    assert world.available() == 4_000_000


def test_up_to_the_tier_limit_the_chief_and_finance_suffice(world: World) -> None:
    assert propose(world, 1_000_000).approvals_needed == 2


def test_two_creditors_never_get_more_than_the_balance(world: World) -> None:
    first = propose(world, 600_000)
    second = propose(world, 600_000)  # each fits alone
    approve_all(world.workflow, first)
    world.workflow.approve(second.disbursement_id, by=APPROVER)
    with pytest.raises(OverAvailable):
        world.workflow.approve(second.disbursement_id, by=FINANCE)
    assert world.workflow.get(second.disbursement_id).state == S.PROPOSED
    assert world.available() == 400_000


def test_cancelling_an_approved_disbursement_gives_the_money_back(world: World) -> None:
    d = propose(world, 300_000)
    approve_all(world.workflow, d)
    cancelled = world.workflow.cancel(d.disbursement_id, by=CLERK, reason="当事人和解")
    assert cancelled.state == S.CANCELLED
    assert world.available() == 1_000_000


def test_rejection_ends_a_proposal_and_the_proposer_cannot_reject(world: World) -> None:
    d = propose(world, 300_000)
    with pytest.raises(RequesterCannotDecide):
        world.workflow.reject(
            d.disbursement_id, by=staff(Role.APPROVER, CLERK.subject), reason="不同意"
        )
    rejected = world.workflow.reject(d.disbursement_id, by=APPROVER, reason="金额有争议")
    assert rejected.state == S.REJECTED
    with pytest.raises(StateRefused):
        world.workflow.approve(d.disbursement_id, by=LEADER)


def test_deferral_needs_a_reason_and_another_persons_approval(world: World) -> None:
    d = propose(world, 300_000)
    approve_all(world.workflow, d)
    until = world.clock.now() + timedelta(days=10)
    asked = world.workflow.request_deferral(
        d.disbursement_id, DeferralRequest(reason="案外人提出异议", until=until), by=CLERK
    )
    assert asked.state == S.APPROVED
    assert asked.deferral is not None
    with pytest.raises(RequesterCannotDecide):
        world.workflow.decide_deferral(
            d.disbursement_id, by=staff(Role.APPROVER, CLERK.subject), approve=True
        )
    deferred = world.workflow.decide_deferral(d.disbursement_id, by=APPROVER, approve=True)
    assert deferred.state == S.DEFERRED
    assert deferred.deferral is not None
    assert deferred.deferral.reason == "案外人提出异议"
    assert world.available() == 700_000  # still reserved while deferred


def test_a_deferral_cannot_outlast_the_reservation(world: World) -> None:
    d = propose(world, 300_000)
    approve_all(world.workflow, d)
    with pytest.raises(StateRefused):
        world.workflow.request_deferral(
            d.disbursement_id,
            DeferralRequest(reason="太久", until=world.clock.now() + timedelta(days=400)),
            by=CLERK,
        )


def test_approval_texts_the_creditor_a_claim_link_whose_code_is_not_stored(world: World) -> None:
    d = propose(world, 300_000)
    approve_all(world.workflow, d)
    codes = world.claim_codes()
    assert len(codes) == 1
    assert len(codes[0]) == 43
    stored = world.workflow.store.get(d.disbursement_id)
    assert stored is not None
    assert codes[0] not in stored.model_dump_json()
    assert world.sender.claim(codes[0], client="c").disbursement_id == d.disbursement_id


def test_a_staff_release_request_comes_from_finance_not_the_proposer(world: World) -> None:
    d = propose(world, 300_000)
    approve_all(world.workflow, d)
    with pytest.raises(SamePerson):
        world.workflow.request_staff_release(
            d.disbursement_id, by=staff(Role.FINANCE, CLERK.subject), reason="单位债权人"
        )
    asked = world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    assert asked.staff_release_request is not None
    assert asked.state == S.APPROVED
