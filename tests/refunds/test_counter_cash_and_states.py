"""Counter cash goes back by bank under four eyes; every allowed and forbidden state change."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from chalicelib.approvals import Decision
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.refunds import (
    ALLOWED,
    BankReferenceUsed,
    RefundService,
    RefundState,
    RefundStateConflict,
    SamePersonConfirms,
)
from chalicelib.refunds.changes import moved
from chalicelib.refunds.models import (
    BankPayment,
    Origin,
    ReasonCode,
    Refund,
    RefundSource,
    RequestRefund,
    SourceKind,
)
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case
from tests.refunds.conftest import CHIEF, CLERK, FINANCE, FINANCE_2, counter_cash

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def cash_refund(refunds: RefundService, transfer_id: str, amount: int) -> str:
    refund = refunds.request(
        RequestRefund.model_validate(
            {
                "source_kind": "counter_cash",
                "source_reference": transfer_id,
                "amount": amount,
                "reason_code": "paid_by_mistake",
            }
        ),
        by=CLERK,
    )
    refunds.submit(refund.refund_id, by=CLERK)
    refunds.decide(refund.refund_id, Decision.APPROVE, by=CHIEF, text=None)
    approved = refunds.decide(refund.refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert approved.state == RefundState.APPROVED  # by bank: it waits for finance
    return refund.refund_id


def test_counter_cash_is_paid_back_by_bank_and_confirmed_by_a_second_person(
    refunds: RefundService, collection: CollectionService, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 5_000)
    refund_id = cash_refund(refunds, "cash-1", 5_000)
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (5_000, 5_000)  # reserved at approval

    recorded = refunds.payback.record_bank_payment(
        refunds.get(refund_id), bank_reference="ICBC-20261102-0001", by=FINANCE
    )
    assert recorded.state == RefundState.PROCESSING
    with pytest.raises(SamePersonConfirms):
        refunds.payback.confirm_bank_payment(recorded, by=FINANCE)
    assert refunds.get(refund_id) == recorded
    paid = refunds.payback.confirm_bank_payment(recorded, by=FINANCE_2)
    assert paid.state == RefundState.PAID
    attempt = paid.attempts[-1]
    assert (attempt.recorded_by, attempt.confirmed_by) == (FINANCE.subject, FINANCE_2.subject)
    assert ledger_service().get_transfer("refund-bank:ICBC-20261102-0001").amount == 5_000
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (0, 0)
    # the sweeper never touches a bank refund
    assert refunds.payback.sweep() == {
        "voided": 0,
        "void_waiting": 0,
        "reserved": 0,
        "sent": 0,
        "finished": 0,
        "waiting": 0,
        "errors": 0,
    }


def test_a_failed_bank_transfer_releases_the_money_and_a_cancel_of_an_approved_refund_too(
    refunds: RefundService, collection: CollectionService, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 6_000)
    first = cash_refund(refunds, "cash-1", 2_000)
    recorded = refunds.payback.record_bank_payment(
        refunds.get(first), bank_reference="ICBC-0002", by=FINANCE
    )
    failed = refunds.payback.bank_payment_failed(recorded, by=FINANCE_2, reason="账户已销户")
    assert failed.state == RefundState.FAILED
    assert failed.failure == "账户已销户"
    second = cash_refund(refunds, "cash-1", 4_000)
    assert ledger_service().balance(case.account_number).debits_pending == 4_000
    assert refunds.cancel(second, by=FINANCE, reason="当事人撤回申请").state == (
        RefundState.CANCELLED
    )
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (6_000, 0)
    assert refunds.store.held(failed.source) == 0
    with pytest.raises(RefundStateConflict):
        refunds.reissue(second, by=FINANCE)


def _refund(state: RefundState) -> Refund:
    return Refund(
        refund_id="rf-1",
        source=RefundSource(
            kind=SourceKind.ONLINE,
            reference="pay-1",
            paid=100,
            currency="CNY",
            court="粤0604",
            ledger_account="4406042600000016",
            received_at=NOW,
        ),
        amount=100,
        currency="CNY",
        reason_code=ReasonCode.OVERPAYMENT,
        origin=Origin.CLERK,
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(("start", "to"), list(itertools.product(RefundState, RefundState)))
def test_every_state_change_is_allowed_or_refused_by_the_table(
    start: RefundState, to: RefundState
) -> None:
    refund = _refund(start)
    if to in ALLOWED[start]:
        after = moved(refund, to, by=CLERK, at=NOW, note="why")
        assert (after.state, after.version) == (to, 2)
        assert after.history[-1].state == to
    else:
        with pytest.raises(RefundStateConflict):
            moved(refund, to, by=CLERK, at=NOW)


def test_the_final_states_allow_nothing_and_the_paths_of_the_workflow_exist() -> None:
    for final in (RefundState.PAID, RefundState.REJECTED, RefundState.CANCELLED):
        assert ALLOWED[final] == frozenset()
    path = [
        RefundState.DRAFT,
        RefundState.SUBMITTED,
        RefundState.RETURNED,
        RefundState.SUBMITTED,
        RefundState.APPROVED,
        RefundState.PROCESSING,
        RefundState.FAILED,
        RefundState.APPROVED,
        RefundState.PROCESSING,
        RefundState.PAID,
    ]
    for before, after in itertools.pairwise(path):
        assert after in ALLOWED[before]


def test_the_service_refuses_steps_out_of_order(
    refunds: RefundService, collection: CollectionService, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 1_000)
    draft = refunds.request(
        RequestRefund.model_validate(
            {
                "source_kind": "counter_cash",
                "source_reference": "cash-1",
                "amount": 1_000,
                "reason_code": "court_order",
            }
        ),
        by=CLERK,
    )
    with pytest.raises(RefundStateConflict):
        refunds.decide(draft.refund_id, Decision.APPROVE, by=CHIEF, text=None)
    with pytest.raises(RefundStateConflict):
        refunds.answer(draft.refund_id, by=CLERK, answer="no question")
    with pytest.raises(RefundStateConflict):
        refunds.reissue(draft.refund_id, by=FINANCE)
    with pytest.raises(RefundStateConflict):
        refunds.payback.record_bank_payment(draft, bank_reference="B-0001", by=FINANCE)
    refunds.submit(draft.refund_id, by=CLERK)
    with pytest.raises(RefundStateConflict):
        refunds.submit(draft.refund_id, by=CLERK)
    assert refunds.get(draft.refund_id).version == 2


def test_one_bank_transfer_pays_back_one_refund(
    refunds: RefundService, collection: CollectionService, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 6_000)
    first, second = cash_refund(refunds, "cash-1", 2_000), cash_refund(refunds, "cash-1", 3_000)
    refunds.payback.record_bank_payment(
        refunds.get(first), bank_reference="ICBC-20261102-0009", by=FINANCE
    )
    waiting = refunds.get(second)
    with pytest.raises(BankReferenceUsed):
        refunds.payback.record_bank_payment(
            waiting, bank_reference="ICBC-20261102-0009", by=FINANCE
        )
    assert refunds.get(second) == waiting
    refunds.payback.confirm_bank_payment(refunds.get(first), by=FINANCE_2)
    recorded = refunds.payback.record_bank_payment(
        waiting, bank_reference="ICBC-20261102-0010", by=FINANCE
    )
    paid = refunds.payback.confirm_bank_payment(recorded, by=FINANCE_2)
    assert paid.state == RefundState.PAID
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (1_000, 0)


@pytest.mark.parametrize(
    "typed_again",
    [
        "icbc-2026-1A",
        " ICBC-2026-1a ",
        "ＩＣＢＣ－２０２６－１ａ",  # typed with a Chinese input method's full-width letters
    ],
)
def test_a_bank_reference_typed_another_way_is_the_same_bank_transfer(
    refunds: RefundService, collection: CollectionService, clock: FixedClock, typed_again: str
) -> None:
    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 6_000)
    first, second = cash_refund(refunds, "cash-1", 2_000), cash_refund(refunds, "cash-1", 3_000)
    recorded = refunds.payback.record_bank_payment(
        refunds.get(first), bank_reference="ICBC-2026-1a", by=FINANCE
    )
    assert recorded.attempts[-1].bank_reference == "ICBC-2026-1A"
    waiting = refunds.get(second)
    with pytest.raises(BankReferenceUsed):
        refunds.payback.record_bank_payment(waiting, bank_reference=typed_again, by=FINANCE)
    assert refunds.get(second) == waiting
    refunds.payback.confirm_bank_payment(refunds.get(first), by=FINANCE_2)
    assert ledger_service().get_transfer("refund-bank:ICBC-2026-1A").amount == 2_000
    assert BankPayment.model_validate({"bank_reference": typed_again}).bank_reference == (
        "ICBC-2026-1A"
    )


def test_a_refund_above_fifty_thousand_yuan_also_needs_a_court_leader(
    refunds: RefundService, collection: CollectionService, clock: FixedClock
) -> None:
    from chalicelib.approvals import AlreadyApprovedInChain, StepNeedsRole
    from chalicelib.identity.roles import Role
    from tests.refunds.conftest import person

    leader = person("leader-zhao", Role.APPROVER)
    case = open_case(amount=20_000_000)
    counter_cash(collection, clock, case, 10_000_001)
    at_limit = refunds.request(
        RequestRefund.model_validate(
            {"source_kind": "counter_cash", "source_reference": "cash-1",
             "amount": 5_000_000, "reason_code": "court_order"}
        ),
        by=CLERK,
    ).refund_id  # fmt: skip
    above = refunds.request(
        RequestRefund.model_validate(
            {"source_kind": "counter_cash", "source_reference": "cash-1",
             "amount": 5_000_001, "reason_code": "court_order"}
        ),
        by=CLERK,
    ).refund_id  # fmt: skip
    for refund_id in (at_limit, above):
        refunds.submit(refund_id, by=CLERK)
        refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    # 50,000.00 yuan: the chief, then finance
    assert refunds.decide(at_limit, Decision.APPROVE, by=FINANCE, text=None).state == (
        RefundState.APPROVED
    )
    # one fen more: a court leader between them, another person than the chief
    waiting = refunds.get(above)
    with pytest.raises(StepNeedsRole):
        refunds.decide(above, Decision.APPROVE, by=FINANCE, text=None)
    with pytest.raises(AlreadyApprovedInChain):
        refunds.decide(above, Decision.APPROVE, by=CHIEF, text=None)
    assert refunds.get(above) == waiting
    assert refunds.decide(above, Decision.APPROVE, by=leader, text=None).state == (
        RefundState.SUBMITTED
    )
    approved = refunds.decide(above, Decision.APPROVE, by=FINANCE, text=None)
    assert approved.state == RefundState.APPROVED
    approval = refunds.approval(above)
    assert approval is not None
    assert [(e.by_subject, e.role) for e in approval.history[1:]] == [
        (CHIEF.subject, Role.APPROVER),
        (leader.subject, Role.APPROVER),
        (FINANCE.subject, Role.FINANCE),
    ]
