"""Queues per court and role, overdue steps, races and the owner's writes in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.approvals import (
    ApprovalChanged,
    ApprovalService,
    ApprovalStatus,
    ChainKind,
    Decision,
    OwnerItemRefused,
)
from chalicelib.clock import FixedClock
from chalicelib.identity.roles import Role
from chalicelib.money import Money
from chalicelib.workdays import CHINA_TIME
from tests.approvals.conftest import CHIEF, CLERK, COURT, FINANCE, LEADER, person

OWNER_TABLE = "courtfunds-test-collection"  # any other table stands for the owner's


def _open(approvals: ApprovalService, item: str, *, court: str = COURT) -> str:
    return approvals.open(
        ChainKind.REFUND, item, court=court, amount=Money(1000), requester=CLERK
    ).id


def _owner_put(key: str, *, condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": OWNER_TABLE,
        "Item": {"pk": {"S": key}, "sk": {"S": "OWNED"}},
    }
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def test_the_queue_shows_what_waits_for_me_and_not_my_own(approvals: ApprovalService) -> None:
    first = _open(approvals, "r1")
    _open(approvals, "r2")
    _open(approvals, "r3", court="粤0605")
    assert [a.item_id for a in approvals.waiting_for(CHIEF, COURT)] == ["r1", "r2"]
    assert approvals.waiting_for(FINANCE, COURT) == []
    # the clerk who asked holds the approver role too: their own requests are not offered
    clerk_also_approver = person(CLERK.subject, Role.CLERK, Role.APPROVER)
    assert approvals.waiting_for(clerk_also_approver, COURT) == []
    approvals.decide(first, Decision.APPROVE, by=CHIEF)
    assert [a.item_id for a in approvals.waiting_for(FINANCE, COURT)] == ["r1"]
    assert [a.item_id for a in approvals.waiting_for(LEADER, COURT)] == ["r2"]
    chief_and_finance = person(CHIEF.subject, Role.APPROVER, Role.FINANCE)
    assert [a.item_id for a in approvals.waiting_for(chief_and_finance, COURT)] == ["r2"]
    approvals.decide(first, Decision.APPROVE, by=FINANCE)
    assert approvals.waiting_for(FINANCE, COURT) == []
    assert {a.item_id: a.status for a in approvals.asked_by(CLERK)} == {
        "r1": ApprovalStatus.APPROVED,
        "r2": ApprovalStatus.PENDING,
        "r3": ApprovalStatus.PENDING,
    }


def test_a_returned_item_leaves_the_approvers_queue_until_answered(
    approvals: ApprovalService,
) -> None:
    aid = _open(approvals, "r1")
    approvals.decide(aid, Decision.RETURN, by=CHIEF, text="请说明原因")
    assert approvals.waiting_for(LEADER, COURT) == []
    approvals.answer(aid, by=CLERK, answer="重复缴款")
    assert [a.id for a in approvals.waiting_for(LEADER, COURT)] == [aid]


def test_a_step_is_overdue_after_the_working_days_the_setting_allows(
    approvals: ApprovalService, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 6, 9, 0, tzinfo=UTC))  # a Friday
    aid = _open(approvals, "r1")
    assert approvals.due_at(approvals.get(aid)) == datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    assert approvals.overdue(COURT, Role.APPROVER) == []
    clock.advance(timedelta(seconds=1))
    assert [a.id for a in approvals.overdue(COURT, Role.APPROVER)] == [aid]
    approvals.decide(aid, Decision.APPROVE, by=CHIEF)
    # the next step waits from now, so it is not overdue yet
    assert approvals.overdue(COURT, Role.APPROVER) == []
    assert approvals.overdue(COURT, Role.FINANCE) == []


def test_a_step_waiting_across_a_holiday_week_is_not_overdue_on_the_holidays(
    approvals: ApprovalService, clock: FixedClock
) -> None:
    # National Day 2026: 1 to 7 October off; Saturday 10 October is a make-up working day.
    clock.set(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))  # Wednesday 10:00 at the court
    before = _open(approvals, "before-holiday")
    # two working days on are Thursday 8 and Friday 9 October, not 1 and 2 October
    assert approvals.due_at(approvals.get(before)) == datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
    clock.set(datetime(2026, 10, 5, 2, 0, tzinfo=UTC))  # a Monday of the holiday
    assert approvals.overdue(COURT, Role.APPROVER) == []
    clock.set(datetime(2026, 10, 9, 2, 0, 1, tzinfo=UTC))
    assert [a.id for a in approvals.overdue(COURT, Role.APPROVER)] == [before]


def test_a_make_up_saturday_counts_and_a_holiday_start_waits_for_the_first_working_day(
    approvals: ApprovalService, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 10, 3, 4, 0, tzinfo=UTC))  # Saturday 3 October, a holiday
    on_holiday = _open(approvals, "on-holiday")
    # counted from the start of Thursday 8 October: Friday 9 and Saturday 10 are the two days
    due = datetime(2026, 10, 10, 0, 0, tzinfo=CHINA_TIME)
    assert approvals.due_at(approvals.get(on_holiday)) == due
    clock.set(datetime(2026, 10, 9, 2, 0, tzinfo=UTC))  # Friday 10:00 at the court
    made_up = _open(approvals, "before-make-up-saturday")
    clock.set(due)
    assert approvals.overdue(COURT, Role.APPROVER) == []
    clock.set(due + timedelta(seconds=1))
    assert [a.id for a in approvals.overdue(COURT, Role.APPROVER)] == [on_holiday]
    # Saturday 10 October is worked: two working days from Friday end on Monday 12 October
    assert approvals.due_at(approvals.get(made_up)) == datetime(2026, 10, 12, 2, 0, tzinfo=UTC)


def test_two_approvers_racing_for_one_step_cannot_both_win(approvals: ApprovalService) -> None:
    aid = _open(approvals, "r1")
    rival = person("chief-deputy", Role.APPROVER)
    mine = approvals.plan_decision(aid, Decision.APPROVE, by=CHIEF)
    theirs = approvals.plan_decision(aid, Decision.REJECT, by=rival, text="不同意")
    approvals.commit(theirs)
    with pytest.raises(ApprovalChanged):
        approvals.commit(mine)
    assert approvals.get(aid).status == ApprovalStatus.REJECTED


def test_the_owners_writes_commit_with_the_decision_or_not_at_all(
    aws: Any, approvals: ApprovalService
) -> None:
    aid = _open(approvals, "r1")
    refused = approvals.plan_decision(aid, Decision.APPROVE, by=CHIEF)
    with pytest.raises(OwnerItemRefused) as caught:
        approvals.commit(refused, [_owner_put("ITEM#r1", condition="attribute_exists(pk)")])
    assert caught.value.reasons == ["ConditionalCheckFailed"]
    assert approvals.get(aid).next_step == 0
    taken = approvals.plan_decision(aid, Decision.APPROVE, by=CHIEF)
    approvals.commit(taken, [_owner_put("ITEM#r1")])
    assert approvals.get(aid).next_step == 1
    owned = aws.get_item(TableName=OWNER_TABLE, Key={"pk": {"S": "ITEM#r1"}, "sk": {"S": "OWNED"}})
    assert "Item" in owned


def test_my_own_requests_never_hide_what_waits_for_me(approvals: ApprovalService) -> None:
    clerk_also_approver = person(CLERK.subject, Role.CLERK, Role.APPROVER)
    for n in range(3):
        _open(approvals, f"mine-{n}")  # asked for by this clerk: first in the queue
    theirs = approvals.open(
        ChainKind.REFUND,
        "theirs",
        court=COURT,
        amount=Money(1000),
        requester=person("clerk-zhou", Role.CLERK),
    ).id
    assert [a.id for a in approvals.waiting_for(clerk_also_approver, COURT, limit=2)] == [theirs]
    assert [a.id for a in approvals.waiting_for(CHIEF, COURT, limit=2)] == [
        "refund:mine-0",
        "refund:mine-1",
    ]
