"""The chain's rules by token subject, its tiers, returns, cancellation and the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from chalicelib.approvals import (
    Action,
    AlreadyApprovedInChain,
    ApprovalExists,
    ApprovalService,
    ApprovalStatus,
    Chain,
    ChainBook,
    ChainKind,
    Decision,
    DecisionIncomplete,
    NotRequester,
    NotWaiting,
    RequesterCannotDecide,
    StepNeedsRole,
    Tier,
)
from chalicelib.approvals.chains import Step
from chalicelib.clock import FixedClock
from chalicelib.identity.roles import Role
from chalicelib.money import Money
from tests.approvals.conftest import CHIEF, CLERK, COURT, FINANCE, LEADER, person

LIMIT = 5_000_000  # 50,000.00 yuan: the default tier boundary


def _open(approvals: ApprovalService, item: str = "r1", fen: int = 10_000) -> str:
    opened = approvals.open(
        ChainKind.REFUND, item, court=COURT, amount=Money(fen), requester=CLERK, summary="多缴"
    )
    return opened.id


@pytest.mark.parametrize(
    ("fen", "roles"),
    [
        (1, ["approver", "finance"]),
        (LIMIT, ["approver", "finance"]),
        (LIMIT + 1, ["approver", "approver", "finance"]),
    ],
)
def test_the_amount_chooses_the_tier(
    approvals: ApprovalService, fen: int, roles: list[str]
) -> None:
    approval = approvals.get(_open(approvals, fen=fen))
    assert [s.role.value for s in approval.steps] == roles
    assert approval.status == ApprovalStatus.PENDING


def test_a_full_chain_approves_in_order_and_records_every_step(
    approvals: ApprovalService, clock: FixedClock
) -> None:
    aid = _open(approvals, fen=LIMIT + 1)
    approvals.decide(aid, Decision.APPROVE, by=CHIEF)
    clock.advance(timedelta(hours=1))
    approvals.decide(aid, Decision.APPROVE, by=LEADER, text="同意")
    middle = approvals.get(aid)
    assert middle.status == ApprovalStatus.PENDING
    assert middle.current_step is not None
    assert middle.current_step.role == Role.FINANCE
    done = approvals.decide(aid, Decision.APPROVE, by=FINANCE)
    assert done.status == ApprovalStatus.APPROVED
    stored = approvals.get(aid)
    assert stored == done
    assert [(e.action, e.by_subject, e.role, e.step) for e in stored.history] == [
        (Action.OPENED, CLERK.subject, None, None),
        (Action.APPROVED, CHIEF.subject, Role.APPROVER, 0),
        (Action.APPROVED, LEADER.subject, Role.APPROVER, 1),
        (Action.APPROVED, FINANCE.subject, Role.FINANCE, 2),
    ]
    assert stored.history[2].text == "同意"
    assert stored.history[2].at == stored.history[1].at + timedelta(hours=1)


def test_the_requester_cannot_decide_even_with_the_role_and_another_name(
    approvals: ApprovalService,
) -> None:
    aid = _open(approvals)
    before = approvals.get(aid)
    disguised = person(CLERK.subject, Role.APPROVER, Role.FINANCE, name="王局长")
    for decision, text in [
        (Decision.APPROVE, None),
        (Decision.REJECT, "不同意"),
        (Decision.RETURN, "请补充"),
    ]:
        with pytest.raises(RequesterCannotDecide):
            approvals.decide(aid, decision, by=disguised, text=text)
    assert approvals.get(aid) == before


def test_the_same_display_name_with_another_subject_may_decide(
    approvals: ApprovalService,
) -> None:
    aid = _open(approvals)
    namesake = person("chief-other", Role.APPROVER, name=CLERK.name)
    assert approvals.decide(aid, Decision.APPROVE, by=namesake).next_step == 1


def test_nobody_approves_twice_in_one_chain(approvals: ApprovalService) -> None:
    aid = _open(approvals, fen=LIMIT + 1)
    approvals.decide(aid, Decision.APPROVE, by=CHIEF)
    before = approvals.get(aid)
    same_person = person(CHIEF.subject, Role.APPROVER, Role.FINANCE, name="another name")
    with pytest.raises(AlreadyApprovedInChain):
        approvals.decide(aid, Decision.APPROVE, by=same_person)
    approvals.decide(aid, Decision.APPROVE, by=LEADER)
    with pytest.raises(AlreadyApprovedInChain):
        approvals.decide(aid, Decision.APPROVE, by=same_person)
    assert approvals.get(aid).next_step == 2
    assert approvals.get(aid).version == before.version + 1


def test_a_step_needs_the_role_its_tier_names(approvals: ApprovalService) -> None:
    aid = _open(approvals)
    with pytest.raises(StepNeedsRole):
        approvals.decide(aid, Decision.APPROVE, by=FINANCE)
    approvals.decide(aid, Decision.APPROVE, by=CHIEF)
    with pytest.raises(StepNeedsRole):
        approvals.decide(aid, Decision.APPROVE, by=LEADER)
    assert approvals.decide(aid, Decision.APPROVE, by=FINANCE).status == ApprovalStatus.APPROVED


def test_a_rejection_needs_a_reason_and_is_final(approvals: ApprovalService) -> None:
    aid = _open(approvals)
    with pytest.raises(DecisionIncomplete):
        approvals.decide(aid, Decision.REJECT, by=CHIEF, text="  ")
    assert approvals.get(aid).version == 1
    rejected = approvals.decide(aid, Decision.REJECT, by=CHIEF, text="材料不全")
    assert rejected.status == ApprovalStatus.REJECTED
    assert rejected.history[-1].text == "材料不全"
    for decision in Decision:
        with pytest.raises(NotWaiting):
            approvals.decide(aid, decision, by=LEADER, text="再看")
    with pytest.raises(NotWaiting):
        approvals.cancel(aid, by=CLERK, reason="撤回")


def test_a_return_waits_for_the_requesters_answer_then_the_same_step(
    approvals: ApprovalService, clock: FixedClock
) -> None:
    aid = _open(approvals)
    with pytest.raises(DecisionIncomplete):
        approvals.decide(aid, Decision.RETURN, by=CHIEF)
    returned = approvals.decide(aid, Decision.RETURN, by=CHIEF, text="请补充付款凭证")
    assert returned.status == ApprovalStatus.RETURNED
    assert returned.last_question == "请补充付款凭证"
    with pytest.raises(NotWaiting):
        approvals.decide(aid, Decision.APPROVE, by=LEADER)
    with pytest.raises(NotRequester):
        approvals.answer(aid, by=CHIEF, answer="已补充")
    clock.advance(timedelta(hours=3))
    answered = approvals.answer(aid, by=CLERK, answer="已补充凭证")
    assert answered.status == ApprovalStatus.PENDING
    assert answered.next_step == 0
    assert answered.waiting_since == clock.now()
    with pytest.raises(NotWaiting):
        approvals.answer(aid, by=CLERK, answer="again")
    # the one who returned it may approve it after the answer: a return is not an approval
    assert approvals.decide(aid, Decision.APPROVE, by=CHIEF).next_step == 1


def test_only_the_requester_or_an_admin_cancels_an_open_approval(
    approvals: ApprovalService,
) -> None:
    first = _open(approvals, "r1")
    with pytest.raises(NotRequester):
        approvals.cancel(first, by=CHIEF, reason="不需要")
    with pytest.raises(DecisionIncomplete):
        approvals.cancel(first, by=CLERK, reason="")
    assert approvals.cancel(first, by=CLERK, reason="申请人撤回").status == (
        ApprovalStatus.CANCELLED
    )
    second = _open(approvals, "r2")
    admin = person("admin-1", Role.ADMIN)
    assert approvals.cancel(second, by=admin, reason="重复申请").status == ApprovalStatus.CANCELLED


def test_opening_again_is_idempotent_and_other_details_are_refused(
    approvals: ApprovalService,
) -> None:
    aid = _open(approvals, "r1", fen=500)
    assert _open(approvals, "r1", fen=500) == aid
    assert approvals.get(aid).version == 1
    with pytest.raises(ApprovalExists):
        _open(approvals, "r1", fen=501)


def test_a_court_can_have_its_own_chain() -> None:
    own = Chain(tiers=(Tier(steps=(Step(role=Role.FINANCE, title="财务"),)),))
    book = ChainBook.model_validate(
        {
            "courts": {
                "*": {k.value: own.model_dump() for k in ChainKind},
                "粤0605": {
                    "refund": {"tiers": [{"steps": [{"role": "approver", "title": "局长"}]}]}
                },
            }
        }
    )
    assert book.chain("粤0605", ChainKind.REFUND).steps_for(1)[0].role == Role.APPROVER
    assert book.chain("粤0604", ChainKind.REFUND).steps_for(1)[0].role == Role.FINANCE
    assert book.chain("粤0605", ChainKind.DISBURSEMENT).steps_for(1)[0].role == Role.FINANCE


@pytest.mark.parametrize(
    "tiers",
    [
        [{"up_to_fen": 100, "steps": [{"role": "approver", "title": "a"}]}],
        [
            {"up_to_fen": 100, "steps": [{"role": "approver", "title": "a"}]},
            {"up_to_fen": 100, "steps": [{"role": "approver", "title": "a"}]},
            {"steps": [{"role": "approver", "title": "a"}]},
        ],
        [{"steps": []}],
        [{"steps": [{"role": "janitor", "title": "a"}]}],
    ],
)
def test_a_chain_that_leaves_an_amount_without_steps_is_refused(tiers: list[object]) -> None:
    with pytest.raises(ValidationError):
        Chain.model_validate({"tiers": tiers})


def test_the_default_chains_must_name_every_kind() -> None:
    chain = {"tiers": [{"steps": [{"role": "approver", "title": "a"}]}]}
    with pytest.raises(ValidationError, match="missing"):
        ChainBook.model_validate({"courts": {"*": {"refund": chain}}})
