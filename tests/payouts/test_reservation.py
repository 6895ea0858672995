"""The money reserved for a disbursement: released on expiry (also after a crash), never freed
while the payout is on its way, never left held by a failed attempt, and held only by a
disbursement whose record says so (reserved in the one write that records the last approval
or a reissue)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.approvals import ChainKind
from chalicelib.ledger import postings
from chalicelib.payouts import DisbursementState, PayoutRailRefused, PayoutStatus
from chalicelib.payouts.bodies import ProposeDisbursement
from chalicelib.payouts.errors import StateRefused
from chalicelib.payouts.reserving import LEDGER_ACTOR
from chalicelib.payouts.sending import HELD_FOR_REVIEW
from chalicelib.wiring import ledger_service
from tests.payouts.conftest import (
    APPROVER,
    CLERK,
    FINANCE,
    Crash,
    World,
    approve_all,
    fund,
    release_by_staff,
)

S = DisbursementState
AMOUNT = 300_000
FUNDED = 1_000_000


def approved(world: World) -> Any:
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=AMOUNT)
    return approve_all(world.workflow, world.workflow.propose(world.case.case_id, body, by=CLERK))


def staff_release(world: World, d: Any) -> Any:
    world.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    return release_by_staff(world.sender, d)


@contextmanager
def dying_before_the_money_is_released(world: World) -> Iterator[None]:
    """The process dies when it would release a reservation (after recording the state)."""

    def die(_: Any) -> None:
        raise Crash("before the reservation is released")

    world.workflow.release_reservation = die  # type: ignore[method-assign]
    try:
        with suppress(Crash):
            yield
    finally:
        del world.workflow.release_reservation  # the class's own again


@contextmanager
def refusing_rail(world: World) -> Iterator[None]:
    def refuse(**_: Any) -> Any:
        raise PayoutRailRefused("the account number is not valid")

    world.rail.send = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        del world.rail.send


def later(world: World, **delta: int) -> None:
    world.clock.advance(timedelta(**delta))
    world.sender.sweep()


def test_expiry_releases_the_money_even_after_a_crash_between_the_two_writes(
    world: World,
) -> None:
    d = approved(world)
    assert world.available() == FUNDED - AMOUNT
    world.clock.advance(timedelta(days=56))
    with dying_before_the_money_is_released(world):
        world.sender.sweep()  # the sweeper logs the one it could not finish
    assert world.workflow.get(d.disbursement_id).state == S.EXPIRED
    assert world.available() == FUNDED - AMOUNT
    later(world, minutes=5)
    after = world.workflow.get(d.disbursement_id)
    assert after.reservation_cleared
    assert world.available() == FUNDED
    assert world.posted() == FUNDED
    assert list(world.workflow.store.due(world.clock.now() + timedelta(days=400))) == []


def test_a_payout_on_its_way_keeps_its_money_past_the_reservation_period(world: World) -> None:
    d = approved(world)
    world.clock.advance(timedelta(days=54))  # released on the last allowed day
    sent = staff_release(world, d)
    assert sent.state == S.SENT
    world.clock.advance(timedelta(days=8))  # the bank is slow; the reservation period is over
    ledger_service().expire_pending(world.clock.now())
    world.sender.sweep()
    assert world.available() == FUNDED - AMOUNT  # still held for the payout in flight
    world.rail.set_status(sent.rail_key, PayoutStatus.PAID)
    later(world, hours=1)
    assert world.workflow.get(d.disbursement_id).state == S.PAID
    assert world.posted() == FUNDED - AMOUNT
    assert world.in_transit() == AMOUNT
    assert world.rail.sent_count() == 1


def test_a_rail_silent_past_the_reservation_holds_the_attempt_for_a_person(
    world: World,
) -> None:
    """Sends that may have reached the rail: once the reservation's time is over the attempt
    is neither failed nor sent again, and its money stays reserved."""
    d = approved(world)
    world.clock.advance(timedelta(days=54))
    world.rail.unavailable = 1_000
    sending = staff_release(world, d)
    assert sending.state == S.SENDING
    later(world, days=3)
    assert world.workflow.get(d.disbursement_id).state == S.SENDING  # still trying
    world.rail.unavailable = 0
    sends = world.rail.calls.count("send")
    later(world, days=4)  # the rail answers, but the reservation period is over
    later(world, minutes=5)
    held = world.workflow.get(d.disbursement_id)
    assert held.state == S.SENDING
    assert [t.action for t in held.trail].count(HELD_FOR_REVIEW) == 1
    assert world.rail.calls.count("send") == sends
    assert world.rail.sent_count() == 0
    assert world.available() == FUNDED - AMOUNT
    with pytest.raises(StateRefused):
        world.workflow.reissue(d.disbursement_id, by=FINANCE)


def test_a_payout_the_rail_holds_but_does_not_list_is_never_paid_twice(world: World) -> None:
    d = approved(world)
    world.clock.advance(timedelta(days=54))
    world.rail.crash_after = "send"  # the payout reached the rail; the answer was lost
    with suppress(Crash):
        staff_release(world, d)
    assert world.rail.sent_count() == 1
    listed = world.rail.find
    world.rail.find = lambda **_: None  # type: ignore[method-assign]
    later(world, days=7)  # the reservation period is over; the rail's list misses the payout
    held = world.workflow.get(d.disbursement_id)
    assert held.state == S.SENDING
    assert held.trail[-1].action == HELD_FOR_REVIEW
    assert world.available() == FUNDED - AMOUNT
    with pytest.raises(StateRefused):
        world.workflow.reissue(d.disbursement_id, by=FINANCE)
    world.rail.find = listed  # type: ignore[method-assign]
    later(world, minutes=5)  # the rail lists it again: recorded, and paid once
    assert world.workflow.get(d.disbursement_id).state == S.SENT
    world.rail.set_status(held.rail_key, PayoutStatus.PAID)
    later(world, hours=1)
    assert world.workflow.get(d.disbursement_id).state == S.PAID
    assert world.rail.sent_count() == 1
    assert world.posted() == FUNDED - AMOUNT
    assert world.available() == FUNDED - AMOUNT


def test_a_refused_payout_never_leaves_its_money_held_even_after_a_crash(world: World) -> None:
    d = approved(world)
    with refusing_rail(world), dying_before_the_money_is_released(world):
        staff_release(world, d)
    assert world.workflow.get(d.disbursement_id).state == S.FAILED
    assert world.available() == FUNDED - AMOUNT  # the crash left attempt 1 held
    later(world, minutes=5)
    assert world.available() == FUNDED
    assert world.workflow.get(d.disbursement_id).reservation_cleared


def test_a_reissue_releases_what_a_crash_left_held_for_the_last_attempt(world: World) -> None:
    d = approved(world)
    with refusing_rail(world), dying_before_the_money_is_released(world):
        staff_release(world, d)
    again = world.workflow.reissue(d.disbursement_id, by=FINANCE)  # before any sweep
    assert again.attempt == 2
    assert world.available() == FUNDED - AMOUNT  # one attempt held, not two
    assert ledger_service().verify(world.case.account_number).ok


@contextmanager
def dying_at_the_record(aws: Any, world: World) -> Iterator[None]:
    """The process dies at the write that records a change of the disbursement: every ledger
    write made before it stays, the write itself and anything after it never happen."""
    table = world.workflow.store.table

    def die(params: dict[str, Any], **_: Any) -> None:
        items = json.loads(params["body"])["TransactItems"]
        if any(table in json.dumps(item) for item in items):
            raise Crash("at the write that records the disbursement")

    aws.meta.events.register("before-call.dynamodb.TransactWriteItems", die)
    try:
        with suppress(Crash):
            yield
    finally:
        aws.meta.events.unregister("before-call.dynamodb.TransactWriteItems", die)


def test_a_crash_at_the_last_approval_holds_no_money_for_a_proposal(aws: Any, world: World) -> None:
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=AMOUNT)
    d = world.workflow.propose(world.case.case_id, body, by=CLERK)
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    with dying_at_the_record(aws, world):
        world.workflow.approve(d.disbursement_id, by=FINANCE)
    assert world.workflow.get(d.disbursement_id).state == S.PROPOSED
    assert world.available() == FUNDED  # nothing held for a disbursement still proposed
    world.sender.sweep()
    assert world.available() == FUNDED
    approved_now = world.workflow.approve(d.disbursement_id, by=FINANCE)  # the retry
    assert approved_now.state == S.APPROVED
    assert world.workflow.get(d.disbursement_id).reserved_until is not None
    assert world.available() == FUNDED - AMOUNT  # reserved once, with the approval
    world.workflow.cancel(d.disbursement_id, by=CLERK, reason="和解")  # gives it all back
    assert world.available() == FUNDED
    assert ledger_service().verify(world.case.account_number).ok


def test_a_crash_at_a_reissue_holds_no_money_for_the_failed_attempt(aws: Any, world: World) -> None:
    d = approved(world)
    with refusing_rail(world):
        staff_release(world, d)
    assert world.available() == FUNDED
    with dying_at_the_record(aws, world):
        world.workflow.reissue(d.disbursement_id, by=FINANCE)
    failed = world.workflow.get(d.disbursement_id)
    assert failed.state == S.FAILED
    assert failed.attempt == 1
    assert world.available() == FUNDED  # the new attempt holds nothing until it is recorded
    later(world, minutes=5)
    assert world.available() == FUNDED
    again = world.workflow.reissue(d.disbursement_id, by=FINANCE)
    assert again.attempt == 2
    assert world.available() == FUNDED - AMOUNT
    assert ledger_service().verify(world.case.account_number).ok


def test_a_case_account_moved_while_approving_is_reserved_on_its_new_state(
    aws: Any, world: World
) -> None:
    """Money arrives on the case account between the reservation's plan and its commit: the
    plan is stale, so it is made again on the account as it is now and committed once."""
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=AMOUNT)
    d = world.workflow.propose(world.case.case_id, body, by=CLERK)
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    table = world.workflow.store.table
    moved: list[str] = []

    def arrive(params: dict[str, Any], **_: Any) -> None:
        if not moved and table in params["body"].decode():
            moved.append("collection:test-2")
            fund(world.case, 1_000, transfer_id=moved[0])

    aws.meta.events.register("before-call.dynamodb.TransactWriteItems", arrive)
    try:
        approved_now = world.workflow.approve(d.disbursement_id, by=FINANCE)
    finally:
        aws.meta.events.unregister("before-call.dynamodb.TransactWriteItems", arrive)
    assert moved == ["collection:test-2"]
    assert approved_now.state == S.APPROVED
    assert world.available() == FUNDED + 1_000 - AMOUNT
    assert ledger_service().get_transfer(d.reservation_id).amount == AMOUNT
    assert ledger_service().verify(world.case.account_number).ok


def test_a_reservation_left_by_a_crash_before_the_approval_is_kept_on_retry(
    world: World,
) -> None:
    """A reservation made by itself (as before the approval and the reservation were one
    write) is taken up by the retried approval, not made twice, and freed on cancel."""
    body = ProposeDisbursement(creditor_party_id=world.creditor_id, amount=FUNDED)
    d = world.workflow.propose(world.case.case_id, body, by=CLERK)
    chain = world.workflow.approvals.of_item(ChainKind.DISBURSEMENT, d.disbursement_id)
    assert chain is not None
    assert len(chain.steps) == 2  # the chief, then finance
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    ledger_service().transfer(
        postings.disbursement_reservation(
            id=d.reservation_id, account=d.account_number, amount=FUNDED, currency=d.currency,
            requested_by=LEDGER_ACTOR, disbursement_id=d.disbursement_id, attempt=d.attempt,
            case_id=d.case_id, creditor_party_id=d.creditor_party_id, timeout_seconds=86_400,
        )
    )  # fmt: skip
    assert world.available() == 0
    approved_now = world.workflow.approve(d.disbursement_id, by=FINANCE)
    assert approved_now.state == S.APPROVED
    assert world.available() == 0  # the one reservation, all the case holds
    world.workflow.cancel(d.disbursement_id, by=CLERK, reason="和解")
    assert world.available() == FUNDED
    assert ledger_service().verify(world.case.account_number).ok
