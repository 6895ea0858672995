"""Every step a person can take, tried on a refund in each of the nine states through the
service: the steps the state allows move it as the table says, every other step is refused and
stores nothing (neither the refund nor its approval changes)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.approvals import Decision
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.problems import ProblemError
from chalicelib.refunds import ALLOWED, RefundService, RefundState
from chalicelib.refunds.models import Refund, RequestRefund
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


@pytest.mark.parametrize("state", list(RefundState))
def test_each_state_allows_its_steps_and_refuses_every_other(
    refunds: RefundService, collection: CollectionService, clock: FixedClock, state: RefundState
) -> None:
    case = open_case(amount=100_000)
    counter_cash(collection, clock, case, 50_000)
    refused = _refund_in(refunds, state)
    for name, step in STEPS.items():
        if name in ALLOWS[state]:
            continue
        before, chain = refunds.get(refused), refunds.approval(refused)
        with pytest.raises(ProblemError):
            step(refunds, refused)
        assert refunds.get(refused) == before, name
        assert refunds.approval(refused) == chain, name
    for name in sorted(ALLOWS[state]):
        refund_id = _refund_in(refunds, state)
        after = STEPS[name](refunds, refund_id)
        assert after.state in ALLOWED[state], name
        stored = refunds.get(refund_id)
        assert stored == after, name
        assert stored.history[-1].state == after.state, name
