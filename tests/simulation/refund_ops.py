"""Operations on money going back and money put right: refunds through their chain and back
over the rail or by bank, four-eyes corrections, and the day's reconciliation that books the
rail's fees. Each goes through the services as the routes and schedules call them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from chalicelib import wiring
from chalicelib.approvals import Decision
from chalicelib.identity import Principal, Role
from chalicelib.refunds import RefundState
from chalicelib.refunds.models import RequestRefund
from chalicelib.workdays import court_date
from tests.payouts.conftest import APPROVER, LEADER
from tests.simulation.operations import case_of, pick
from tests.simulation.rails import sign
from tests.simulation.simulator import (
    CLERK,
    FINANCE,
    FINANCE_2,
    Op,
    World,
    idempotency_key,
)

CLERK_2 = Principal(subject="clerk-2", name="刘书记员", roles=frozenset({Role.CLERK}))
R = RefundState
_STEP_BY_TITLE = {"执行局长 bureau chief": APPROVER, "分管院领导 court leader": LEADER}


def _refunds(w: World, *states: RefundState) -> list[str]:
    service = wiring.refund_service()
    return [r for r in w.refunds if service.get(r).state in states]


def _paid_online(w: World) -> list[Any]:
    """The payments the rail took for a case (a clerk refunds what a receipt shows)."""
    return [
        p
        for p in w.rail.payments.values()
        if p.payment_id and p.status.value == "succeeded" and p.payment_id in w.payment_ids
    ]


def request_refund(w: World, op: Op, *, by: Principal = CLERK, amount: int | None = None) -> str:
    """A clerk asks to refund an online payment (or counter cash), all or part of it; asking
    for more than is left is refused. The request goes into the chain."""
    if op.pick % 4 == 3 and w.cash:
        kind, reference, paid = "counter_cash", pick(w.cash, op), None
    else:
        payment = pick(_paid_online(w), op)
        if payment is None:
            return "nothing"
        kind, reference, paid = "online", payment.payment_id, payment.amount
    if amount is None:
        whole = paid or 100_000
        amount = whole if op.pick % 4 == 0 else 1 + op.pick % max(1, whole // 2)
    body = RequestRefund.model_validate(
        {
            "source_kind": kind,
            "source_reference": reference,
            "amount": amount,
            "reason_code": "overpayment",
        }
    )
    service = wiring.refund_service()
    refund = service.request(body, by=by, idempotency_key=idempotency_key(w.rng))
    w.refunds.append(refund.refund_id)
    service.submit(refund.refund_id, by=by)
    return "refund_requested"


def decide_all(refund_id: str) -> Any:
    """Every step of the refund's chain at its tier; the last approval pays it back."""
    service = wiring.refund_service()
    approval = service.approval(refund_id)
    refund = service.get(refund_id)
    if approval is None:
        return refund
    for step in approval.steps[approval.next_step :]:
        who = _STEP_BY_TITLE.get(step.title, FINANCE)
        refund = service.decide(refund_id, Decision.APPROVE, by=who, text=None)
    return refund


def approve_refund(w: World, op: Op) -> str:
    if not _refunds(w, R.SUBMITTED):
        request_refund(w, op)
    chosen = pick(_refunds(w, R.SUBMITTED), op)
    if chosen is None:
        return "nothing"
    return f"refund_{decide_all(chosen).state.value}"


def refund_twice(w: World, op: Op) -> str:
    """Two clerks ask at the same time for all that is left of one payment (online, or cash
    taken at the counter, which goes back by bank with no rail to refuse a second time), and
    both requests are approved: the second approval must find the money held already."""
    if op.pick % 2 and w.cash:
        reference = pick(w.cash, op)
        cash = wiring.collection_service().store.counter_cash(reference)
        source, left = Op(op.kind, op.pick - op.pick % 4 + 3), cash.amount if cash else 0
    else:
        payment = pick(_paid_online(w), op)
        if payment is None:
            return "nothing"
        source = Op(op.kind, op.pick - op.pick % 4 + 1)  # an online source, whatever the pick
        left = payment.amount - w.rail.refunded(payment.reference)
    if left <= 0:
        return "nothing"
    request_refund(w, source, amount=left)
    request_refund(w, source, by=CLERK_2, amount=left)
    for refund_id in w.refunds[-2:]:
        decide_all(refund_id)
    return "refunded_twice"


def rail_settles_refund(w: World, op: Op) -> str:
    """A bank finishes a refund the rail had pending: paid, or failed (a closed card)."""
    pending = [k for k, r in w.rail.refunds.items() if r.status.value == "pending"]
    key = pick(pending, op)
    if key is None:
        return "nothing"
    w.rail.settle_refund(key, succeeded=op.pick % 3 != 0)
    return "refund_settled_at_rail"


def deliver_refund_event(w: World, op: Op) -> str:
    """The rail's refund events: the next one, an earlier one again, or a forged one."""
    events = w.rail.refund_events
    payback = wiring.refund_service().payback
    if op.pick % 7 == 0 and events:
        forged = json.dumps({"id": f"evt_forged_{op.pick}", "type": "refund.updated"}).encode()
        return payback.ingest_webhook(forged, {"Sim-Signature": "0" * 64})["outcome"]
    if op.pick % 3 == 0 and w.refund_delivered:
        body = events[op.pick % w.refund_delivered]
    elif w.refund_delivered < len(events):
        body = events[w.refund_delivered]
        w.refund_delivered += 1
    else:
        return "nothing"
    return payback.ingest_webhook(body, sign(body))["outcome"]


def sweep_refunds(w: World, op: Op) -> str:
    """The refunds' sweeper; with an odd pick a second one runs over the same refunds."""
    payback = wiring.refund_service().payback
    payback.sweep()
    if op.pick % 2:
        payback.sweep()
    return "swept_refunds"


def reissue_or_cancel_refund(w: World, op: Op) -> str:
    """Finance reissues a failed refund, or a refund not sent yet is withdrawn."""
    service = wiring.refund_service()
    failed = _refunds(w, R.FAILED)
    if failed and op.pick % 2 == 0:
        service.reissue(pick(failed, op), by=FINANCE)
        return "refund_reissued"
    open_ = _refunds(w, R.FAILED, R.SUBMITTED, R.APPROVED)
    chosen = pick(open_, op)
    if chosen is None:
        return "nothing"
    service.cancel(chosen, by=CLERK, reason="付款人撤回申请")
    return "refund_cancelled"


def refund_by_bank(w: World, op: Op) -> str:
    """Counter cash goes back by bank: finance records the transfer, a second member of
    finance confirms it (the one who recorded it is refused) or reports it failed."""
    service = wiring.refund_service()
    payback = service.payback
    by_bank = [
        service.get(r) for r in _refunds(w, R.APPROVED, R.PROCESSING)
    ]  # fmt: skip
    by_bank = [r for r in by_bank if r.source.kind.value == "counter_cash"]
    if not by_bank:
        if not w.cash:
            return "nothing"
        request_refund(w, Op(op.kind, op.pick - op.pick % 4 + 3))
        decide_all(w.refunds[-1])
        by_bank = [service.get(w.refunds[-1])]
    refund = pick(by_bank, op)
    if refund.state == R.APPROVED:
        payback.record_bank_payment(refund, bank_reference=f"BK{op.pick:08d}", by=FINANCE)
        return "bank_refund_recorded"
    if op.pick % 5 == 0:
        payback.bank_payment_failed(refund, by=FINANCE_2, reason="收款账户已销户")
        return "bank_refund_failed"
    payback.confirm_bank_payment(refund, by=FINANCE if op.pick % 4 == 0 else FINANCE_2)
    return "bank_refund_confirmed"


# -- corrections under four eyes --------------------------------------------------------------


def propose_correction(w: World, op: Op) -> str:
    """A clerk proposes moving money credited to the wrong case to the right one; sent twice
    at times (a retry: the same proposal)."""
    debit = case_of(w, op).account_number
    credit = w.cases[(op.pick + 1) % len(w.cases)].account_number
    proposal_id = f"corr-{len(w.corrections)}-{op.pick}"
    for _ in range(1 + op.pick % 2):
        wiring.ledger_service().propose_correction(
            proposal_id, debit_account=debit, credit_account=credit,
            amount=1 + op.pick % 150_000, reason="误入他案，更正", proposed_by=CLERK.name,
            subject=CLERK.subject,
        )  # fmt: skip
    w.corrections.append(proposal_id)
    return "correction_proposed"


def decide_correction(w: World, op: Op) -> str:
    """Finance posts or rejects an open proposal; the proposer trying to post their own is
    refused, and posting again is the same transfer."""
    ledger = wiring.ledger_service()
    waiting = [p for p in w.corrections if ledger.proposal(p).status.value == "open"]
    if not waiting:
        propose_correction(w, op)
        waiting = w.corrections[-1:]
    chosen = pick(waiting, op)
    if op.pick % 5 == 0:
        ledger.post_correction(chosen, posted_by=CLERK.name, subject=CLERK.subject)
        return "correction_posted_by_proposer"
    if op.pick % 5 == 1:
        ledger.reject_correction(
            chosen, rejected_by=FINANCE.name, subject=FINANCE.subject, reason="证据不足"
        )
        return "correction_rejected"
    ledger.post_correction(chosen, posted_by=FINANCE.name, subject=FINANCE.subject)
    if op.pick % 3 == 0:
        ledger.post_correction(chosen, posted_by=FINANCE.name, subject=FINANCE.subject)
    return "correction_posted"


# -- the day's reconciliation -------------------------------------------------------------------


def reconcile_day(w: World, op: Op) -> str:
    """Finance reconciles a court day that has ended (the nightly run, or again on demand):
    the fees the rail took are booked, once however often the day is run."""
    from tests.simulation.stage import SET_UP_AT

    first, today = court_date(SET_UP_AT), court_date(w.clock.now())
    days = [first + timedelta(days=n) for n in range((today - first).days)]
    day = pick(days, op)
    if day is None:
        return "nothing"
    w.reconciled.add(day)
    service = wiring.reconciliation_service()
    for _ in range(1 + op.pick % 2):
        service.run(day, by=FINANCE.subject)
    return "reconciled"


ACTIONS = {
    "request_refund": request_refund,
    "approve_refund": approve_refund,
    "refund_twice": refund_twice,
    "rail_settles_refund": rail_settles_refund,
    "deliver_refund_event": deliver_refund_event,
    "sweep_refunds": sweep_refunds,
    "reissue_or_cancel_refund": reissue_or_cancel_refund,
    "refund_by_bank": refund_by_bank,
    "propose_correction": propose_correction,
    "decide_correction": decide_correction,
    "reconcile_day": reconcile_day,
}
