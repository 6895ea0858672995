"""Every step a person can take, tried on a refund in each of the nine states through the
service: the steps the state allows move it as the table says, every other step is refused and
stores nothing: neither the refund nor its approval changes, the ledger posts no transfer and
moves no balance, and no bank reference, held amount or void-queue entry is written (every
table reads as it did before the step)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.approvals import Decision
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.problems import ProblemError
from chalicelib.refunds import ALLOWED, RefundService, RefundState
from chalicelib.refunds.models import Refund, RequestRefund
from chalicelib.wiring import ledger_service
from chalicelib.wiring.shared import dynamodb
from tests.collection.conftest import open_case
from tests.refunds.conftest import CHIEF, CLERK, FINANCE, FINANCE_2, counter_cash

S = RefundState
Step = Callable[[RefundService, str], Refund]

STEPS: dict[str, Step] = {
    "submit": lambda r, i: r.submit(i, by=CLERK),
    "approve": lambda r, i: r.decide(i, Decision.APPROVE, by=CHIEF, text=None),
    "return": lambda r, i: r.decide(i, Decision.RETURN, by=CHIEF, text="请补充凭证"),
    "reject": lambda r, i: r.decide(i, Decision.REJECT, by=CHIEF, text="不符合条件"),
    "answer": lambda r, i: r.answer(i, by=CLERK, answer="凭证已附"),
    "cancel": lambda r, i: r.cancel(i, by=CLERK, reason="申请人撤回"),
    "reissue": lambda r, i: r.reissue(i, by=FINANCE),
    "record bank transfer": lambda r, i: r.payback.record_bank_payment(
        r.get(i), bank_reference=f"ICBC-{i[-8:]}", by=FINANCE
    ),
    "confirm bank transfer": lambda r, i: r.payback.confirm_bank_payment(r.get(i), by=FINANCE_2),
    "bank transfer failed": lambda r, i: r.payback.bank_payment_failed(
        r.get(i), by=FINANCE_2, reason="账户已销户"
    ),
}

# How a refund of counter cash reaches each state, and which steps each state allows.
ROUTE: dict[RefundState, tuple[str, ...]] = {
    S.DRAFT: (),
    S.SUBMITTED: ("submit",),
    S.RETURNED: ("submit", "return"),
    S.REJECTED: ("submit", "reject"),
    S.APPROVED: ("submit", "approve", "finance approves"),
    S.PROCESSING: ("submit", "approve", "finance approves", "record bank transfer"),
    S.PAID: (
        "submit",
        "approve",
        "finance approves",
        "record bank transfer",
        "confirm bank transfer",
    ),
    S.FAILED: (
        "submit",
        "approve",
        "finance approves",
        "record bank transfer",
        "bank transfer failed",
    ),
    S.CANCELLED: ("cancel",),
}
ALLOWS: dict[RefundState, frozenset[str]] = {
    S.DRAFT: frozenset({"submit", "cancel"}),
    S.SUBMITTED: frozenset({"approve", "return", "reject", "cancel"}),
    S.RETURNED: frozenset({"answer", "cancel"}),
    S.APPROVED: frozenset({"record bank transfer", "cancel"}),
    S.PROCESSING: frozenset({"confirm bank transfer", "bank transfer failed"}),
    S.FAILED: frozenset({"reissue", "cancel"}),
    S.REJECTED: frozenset(),
    S.PAID: frozenset(),
    S.CANCELLED: frozenset(),
}
ALL_STEPS = {**STEPS, "finance approves": lambda r, i: r.decide(
    i, Decision.APPROVE, by=FINANCE, text=None
)}  # fmt: skip


def _refund_in(refunds: RefundService, state: RefundState) -> str:
    refund = refunds.request(
        RequestRefund.model_validate(
            {
                "source_kind": "counter_cash",
                "source_reference": "cash-1",
                "amount": 1_000,
                "reason_code": "paid_by_mistake",
            }
        ),
        by=CLERK,
    )
    for name in ROUTE[state]:
        ALL_STEPS[name](refunds, refund.refund_id)
    assert refunds.get(refund.refund_id).state == state
    return refund.refund_id


def _everything_stored() -> dict[str, list[str]]:
    """Every item of every table, the ledger's and the refunds' included."""
    db = dynamodb()
    stored: dict[str, list[str]] = {}
    for table in db.list_tables()["TableNames"]:
        items: list[Any] = []
        for page in db.get_paginator("scan").paginate(TableName=table):
            items += page["Items"]
        stored[table] = sorted(json.dumps(item, sort_keys=True) for item in items)
    return stored


def _kinds(stored: dict[str, list[str]]) -> set[str]:
    """The kinds of items stored (``BANKREF``, ``VOID``, ``HELD`` ...), by their pk's prefix."""
    return {
        json.loads(item)["pk"]["S"].split("#")[0] for items in stored.values() for item in items
    }


def test_the_snapshot_sees_the_ledger_and_the_refunds_writes(
    refunds: RefundService, collection: CollectionService, clock: FixedClock
) -> None:
    """What the refused steps are compared on holds what a step would write: the bank
    reference, the held amount, the void queue, the ledger's reservation."""
    case = open_case(amount=100_000)
    counter_cash(collection, clock, case, 50_000)
    before = _everything_stored()
    recorded = _refund_in(refunds, S.PROCESSING)
    cancelled = _refund_in(refunds, S.APPROVED)
    refunds.cancel(cancelled, by=CLERK, reason="申请人撤回")
    after = _everything_stored()
    assert {"BANKREF", "VOID", "HELD"} <= _kinds(after) - _kinds(before)
    assert ledger_service().balance(case.account_number).debits_pending == 1_000
    assert refunds.get(recorded).attempts[-1].bank_reference is not None


@pytest.mark.parametrize("state", list(RefundState))
def test_each_state_allows_its_steps_and_refuses_every_other(
    refunds: RefundService, collection: CollectionService, clock: FixedClock, state: RefundState
) -> None:
    case = open_case(amount=100_000)
    counter_cash(collection, clock, case, 50_000)
    refused = _refund_in(refunds, state)
    balance, stored = ledger_service().balance(case.account_number), _everything_stored()
    for name, step in STEPS.items():
        if name in ALLOWS[state]:
            continue
        before, chain = refunds.get(refused), refunds.approval(refused)
        with pytest.raises(ProblemError):
            step(refunds, refused)
        assert refunds.get(refused) == before, name
        assert refunds.approval(refused) == chain, name
        assert ledger_service().balance(case.account_number) == balance, name
    assert _everything_stored() == stored  # no refused step wrote anything anywhere
    for name in sorted(ALLOWS[state]):
        refund_id = _refund_in(refunds, state)
        after = STEPS[name](refunds, refund_id)
        assert after.state in ALLOWED[state], name
        stored = refunds.get(refund_id)
        assert stored == after, name
        assert stored.history[-1].state == after.state, name
