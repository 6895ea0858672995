"""What each planned operation does, through the services as the routes and schedules call
them. An operation that does not apply (nothing to confirm yet) does nothing and says so."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import timedelta
from typing import Any

from chalicelib import wiring
from chalicelib.collection.models import CashEntry, ClaimStatus, StartPayment
from chalicelib.payouts import DisbursementState, PayoutStatus
from chalicelib.payouts.bodies import ProposeDisbursement
from tests.payouts.conftest import approve_all, release_by_staff
from tests.simulation.rails import sign
from tests.simulation.simulator import (
    CLERK,
    DECLINED_CARD,
    FINANCE,
    FINANCE_2,
    GOOD_CARD,
    Op,
    World,
    idempotency_key,
)

S = DisbursementState


def perform(w: World, op: Op) -> str:
    from tests.simulation import claim_ops, refund_ops

    action = _ACTIONS.get(op.kind) or refund_ops.ACTIONS.get(op.kind) or claim_ops.ACTIONS[op.kind]
    return str(action(w, op))


def case_of(w: World, op: Op) -> Any:
    return w.cases[op.pick % len(w.cases)]


def pick(items: list[Any], op: Op) -> Any:
    return items[op.pick % len(items)] if items else None


def start_payment(w: World, op: Op, *, amount: int | None = None) -> str:
    case = case_of(w, op)
    amount = amount or 1 + op.pick % 200_000
    step = wiring.collection_service().start_payment(
        case.account_number,
        StartPayment(amount=amount, accept_surplus=op.pick % 5 == 0),
        idempotency_key=idempotency_key(w.rng),
        client="payer",
    )
    w.payment_ids.append(step.payment.payment_id)
    return "started"


def _awaiting(w: World) -> list[str]:
    flow = wiring.collection_service()
    return [p for p in w.payment_ids if flow.payment(p).status.value == "awaiting_method"]


def confirm_card(w: World, op: Op, card: str = GOOD_CARD) -> str:
    payment_id = pick(_awaiting(w), op)
    if payment_id is None:
        start_payment(w, op)
        payment_id = pick(_awaiting(w), op)
    if payment_id is None:
        return "nothing"
    wiring.collection_service().confirm_card(payment_id, card)
    return "confirmed"


def pay_at_rail(w: World, op: Op) -> str:
    """The payer finished in a wallet app: only the rail knows until an event or a sweep."""
    waiting = [p for p in w.rail.payments.values() if p.status.value == "awaiting_method"]
    if not waiting:
        start_payment(w, op)
        waiting = [p for p in w.rail.payments.values() if p.status.value == "awaiting_method"]
    payment = pick(waiting, op)
    if payment is None:
        return "nothing"
    w.rail.succeed(payment.reference)
    return "paid_at_rail"


def pay_unidentified(w: World, op: Op) -> str:
    """Money that reaches the court's rail account with no case on it (a bank transfer)."""
    created = w.rail.create_payment(
        key=f"unknown-{op.pick}-{len(w.rail.payments)}",
        amount=1 + op.pick % 50_000,
        currency="CNY",
        payment_id="",
        account_number="",
        case_id="",
        court_code="",
        description="",
    )
    nameless = {"payment_id": None, "account_number": None, "case_id": None, "court_code": None}
    w.rail.payments[created.reference] = created.__class__(**{**created.__dict__, **nameless})
    w.rail.succeed(created.reference)
    return "unidentified_at_rail"


def deliver(body: bytes, headers: dict[str, str]) -> str:
    return wiring.collection_service().ingest_webhook(body, headers)["outcome"]


def deliver_next_event(w: World, op: Op) -> str:
    waiting = [e for e in w.rail.events if e not in w.delivered]
    if not waiting:
        return "nothing"
    w.delivered.append(waiting[0])
    return deliver(waiting[0], sign(waiting[0]))


def deliver_any_event(w: World, op: Op) -> str:
    """Out of order: any event not delivered yet."""
    waiting = [e for e in w.rail.events if e not in w.delivered]
    event = pick(waiting, op)
    if event is None:
        return "nothing"
    w.delivered.append(event)
    return deliver(event, sign(event))


def deliver_again(w: World, op: Op) -> str:
    event = pick(w.delivered, op)
    if event is None:
        return "nothing"
    return deliver(event, sign(event))


def forge_event(w: World, op: Op) -> str:
    """An event claiming a payment succeeded, not signed with the court's secret."""
    payment = pick(list(w.rail.payments.values()), op)
    if payment is None:
        return "nothing"
    body = json.dumps(
        {
            "id": f"evt_forged_{op.pick}",
            "type": "payment_intent.succeeded",
            "reference": payment.reference,
            "amount": payment.amount * 10,
            "currency": "CNY",
            "status": "succeeded",
        }
    ).encode()
    return deliver(body, {"Sim-Signature": "0" * 64})


def lie_in_signed_event(w: World, op: Op) -> str:
    """A signed event whose body lies (a leaked secret): the rail is read back, not believed."""
    payment = pick(list(w.rail.payments.values()), op)
    if payment is None:
        return "nothing"
    body = json.dumps(
        {
            "id": f"evt_lie_{op.pick}",
            "type": "payment_intent.succeeded",
            "reference": payment.reference,
            "amount": payment.amount * 10,
            "currency": "CNY",
            "status": "succeeded",
            "payment_id": payment.payment_id,
            "account_number": payment.account_number,
        }
    ).encode()
    return deliver(body, sign(body))


def sweep_payments(w: World, op: Op) -> str:
    """The schedule fires; with an odd pick a second sweeper runs over the same window."""
    wiring.collection_service().sweep()
    if op.pick % 2:
        wiring.collection_service().sweep()
    return "swept"


def claim_unidentified(w: World, op: Op) -> str:
    queue = wiring.collection_service().unidentified_queue(ClaimStatus.OPEN, limit=20)
    item = pick(queue, op)
    if item is None:
        return "nothing"
    wiring.collection_service().claim(
        item.reference,
        account_number=case_of(w, op).account_number,
        reason="付款人来电确认",
        actor="clerk-1",
        confirmed_by="陈会计",
        confirmer_subject="finance-1",
    )
    return "claimed"


def counter_cash(w: World, op: Op, *, amount: int = 100_000) -> str:
    case = case_of(w, op)
    # A retry of the last entry (the clerk pressed again after a timeout) half of the time.
    number = w.cash_entries if op.pick % 2 else w.cash_entries + 1
    w.cash_entries = max(w.cash_entries, number)
    entry = CashEntry(
        id=f"cash-{case.case_id}-{number}",
        case_id=case.case_id,
        court_code=case.court_code,
        account_number=case.account_number,
        amount=amount,
        currency="CNY",
        receipt_no=f"R{number:06d}",
        received_at=w.clock.now() - timedelta(minutes=5),
        entered_by="王书记员",
        entered_by_subject="clerk-1",
        entered_at=w.clock.now(),
    )
    counted = wiring.collection_service().count_counter_cash(entry, confirmed_by="finance-1")
    if counted.transfer_id not in w.cash:
        w.cash.append(counted.transfer_id)
    return "cash_counted"


def propose_disbursement(w: World, op: Op, *, amount: int | None = None) -> str:
    case = case_of(w, op)
    creditor = next(p.party_id for p in case.parties if p.role.value == "creditor")
    available = wiring.ledger_service().balance(case.account_number).available
    if available <= 0:
        counter_cash(w, op)
        available = wiring.ledger_service().balance(case.account_number).available
    if available <= 0:
        return "nothing"
    if amount is None:
        amount = available if op.pick % 3 == 0 else 1 + op.pick % available
    d = wiring.disbursement_workflow().propose(
        case.case_id, ProposeDisbursement(creditor_party_id=creditor, amount=amount), by=CLERK
    )
    w.disbursements.append(d.disbursement_id)
    return "proposed"


def propose_twice(w: World, op: Op) -> str:
    """Two officers propose at the same time for the same case, each for all it holds: the
    second approval must find the money reserved already."""
    propose_disbursement(w, Op(op.kind, op.pick - op.pick % 3))
    propose_disbursement(w, Op(op.kind, op.pick - op.pick % 3))
    return "proposed_twice"


def _in_state(w: World, *states: DisbursementState) -> list[str]:
    flow = wiring.disbursement_workflow()
    return [i for i in w.disbursements if flow.get(i).state in states]


def approve_disbursement(w: World, op: Op) -> str:
    if not _in_state(w, S.PROPOSED):
        propose_disbursement(w, op)
    chosen = pick(_in_state(w, S.PROPOSED), op)
    if chosen is None:
        return "nothing"
    flow = wiring.disbursement_workflow()
    approve_all(flow, flow.get(chosen))  # every step of the chain at the amount's tier
    return "approved"


def release_disbursement(w: World, op: Op) -> str:
    """Finance asks for a staff release and a second member confirms: the money is sent."""
    if not _in_state(w, S.APPROVED):
        approve_disbursement(w, op)
    chosen = pick(_in_state(w, S.APPROVED), op)
    if chosen is None:
        return "nothing"
    d = wiring.disbursement_workflow().get(chosen)
    if d.staff_release_request is None or d.staff_release_request.attempt != d.attempt:
        wiring.disbursement_workflow().request_staff_release(
            chosen, by=FINANCE, reason="单位债权人"
        )
    release_by_staff(wiring.payout_sender(), d, last=FINANCE_2)
    return "released"


def bank_moves_payout(w: World, op: Op) -> str:
    moving = [k for k, p in w.payouts.payouts.items() if p.status == PayoutStatus.PROCESSING]
    paid = [k for k, p in w.payouts.payouts.items() if p.status == PayoutStatus.PAID]
    if op.pick % 7 == 0 and paid:
        w.payouts.move(pick(paid, op), PayoutStatus.RETURNED)
        return "returned_by_bank"
    key = pick(moving, op)
    if key is None:
        return "nothing"
    status = PayoutStatus.FAILED if op.pick % 5 == 0 else PayoutStatus.PAID
    w.payouts.move(key, status)
    return f"payout_{status.value}"


def deliver_payout_event(w: World, op: Op) -> str:
    if not w.payouts.events:
        return "nothing"
    # In order most of the time, an earlier one again otherwise (a duplicate, or late).
    index = w.payout_delivered if op.pick % 3 else op.pick % len(w.payouts.events)
    if index >= len(w.payouts.events):
        return "nothing"
    body = w.payouts.events[index]
    w.payout_delivered = max(w.payout_delivered, index + 1)
    wiring.payout_sender().on_webhook(body, sign(body))
    return "payout_event"


def sweep_payouts(w: World, op: Op) -> str:
    wiring.payout_sender().sweep()
    if op.pick % 2:
        wiring.payout_sender().sweep()
    return "swept_payouts"


def advance_clock(w: World, op: Op) -> str:
    """Hours to days, across nights, weekends and so working days."""
    w.clock.advance(timedelta(hours=1 + op.pick % 60))
    return "time_passed"


_ACTIONS = {
    "start_payment": start_payment,
    "confirm_card": confirm_card,
    "decline_card": lambda w, op: confirm_card(w, op, DECLINED_CARD),
    "pay_at_rail": pay_at_rail,
    "pay_unidentified": pay_unidentified,
    "deliver_next_event": deliver_next_event,
    "deliver_any_event": deliver_any_event,
    "deliver_again": deliver_again,
    "forge_event": forge_event,
    "lie_in_signed_event": lie_in_signed_event,
    "sweep_payments": sweep_payments,
    "claim_unidentified": claim_unidentified,
    "counter_cash": counter_cash,
    "propose_disbursement": propose_disbursement,
    "propose_twice": propose_twice,
    "approve_disbursement": approve_disbursement,
    "release_disbursement": release_disbursement,
    "bank_moves_payout": bank_moves_payout,
    "deliver_payout_event": deliver_payout_event,
    "sweep_payouts": sweep_payouts,
    "advance_clock": advance_clock,
}


def quiesce(w: World) -> None:
    """No more faults: the rail's events all arrive, the sweepers run after the clock moves
    on, as they would overnight; what a crash left half-way must be finished now."""
    for body in w.rail.events:
        if body not in w.delivered:
            _safely(lambda b=body: deliver(b, sign(b)))
    w.clock.advance(timedelta(minutes=20))
    _safely(wiring.collection_service().sweep)
    if w.refunds:
        _safely(wiring.refund_service().payback.sweep)
        for key, refund in list(w.rail.refunds.items()):
            if refund.status.value == "pending":  # the banks finish overnight
                w.rail.settle_refund(key, succeeded=True)
        for body in w.rail.refund_events[w.refund_delivered :]:
            _safely(lambda b=body: wiring.refund_service().payback.ingest_webhook(b, sign(b)))
        _safely(wiring.refund_service().payback.sweep)
    for day in sorted(w.reconciled):  # a run a crash cut short is run again
        _safely(lambda d=day: wiring.reconciliation_service().run(d, by="finance-1"))
    for body in w.payouts.events:
        _safely(lambda b=body: wiring.payout_sender().on_webhook(b, sign(b)))
    w.clock.advance(timedelta(minutes=20))
    _safely(wiring.payout_sender().sweep)
    if w.payouts.payouts:  # twice in a row where money left: the second finds nothing to do
        _safely(wiring.payout_sender().sweep)


def _safely(call: Any) -> None:
    # A refusal here is the product's answer; the invariants judge what it left behind.
    with suppress(Exception):
        call()
