"""An online refund from request to money back through the Stripe rail (localstripe, CNY),
with the approval chain deciding and the ledger holding the money in between."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.approvals import ApprovalStatus, Decision, RequesterCannotDecide
from chalicelib.collection import CollectionService
from chalicelib.identity.roles import Role
from chalicelib.ledger import SystemAccount
from chalicelib.refunds import (
    ReasonCode,
    RefundExceedsPayment,
    RefundService,
    RefundState,
    RefundStateConflict,
    SourceKind,
    SourceNotFound,
)
from chalicelib.refunds.models import RequestRefund
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case, outbox_deliveries, rail_client
from tests.refunds.conftest import CHIEF, CLERK, FINANCE, paid_online, person

REFUNDS_ACCOUNT = SystemAccount.REFUNDS_IN_TRANSIT.of("CNY")


def ask(refunds: RefundService, payment_id: str, amount: int, **changes: Any) -> str:
    body = RequestRefund.model_validate(
        {
            "source_kind": "online",
            "source_reference": payment_id,
            "amount": amount,
            "reason_code": "overpayment",
            "note": "多缴部分",
            **changes,
        }
    )
    return refunds.request(body, by=CLERK).refund_id


def approve_all(refunds: RefundService, refund_id: str) -> Any:
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    return refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)


def test_a_refund_is_approved_reserved_and_paid_back_through_the_rail(
    refunds: RefundService, collection: CollectionService, localstripe: str, outbox: Path
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 12_000, surplus=True)
    refund_id = ask(refunds, payment.payment_id, 2_000)
    assert refunds.get(refund_id).state == RefundState.DRAFT
    assert refunds.submit(refund_id, by=CLERK).state == RefundState.SUBMITTED
    assert refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None).state == (
        RefundState.SUBMITTED
    )
    paid = refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text="核对无误")
    assert paid.state == RefundState.PAID
    assert [e.state for e in paid.history] == [
        RefundState.DRAFT,
        RefundState.SUBMITTED,
        RefundState.SUBMITTED,
        RefundState.APPROVED,
        RefundState.PROCESSING,
        RefundState.PAID,
    ]
    assert [e.by_subject for e in paid.history[:4]] == [
        CLERK.subject,
        CLERK.subject,
        CHIEF.subject,
        FINANCE.subject,
    ]
    attempt = paid.attempts[-1]
    assert attempt.rail_reference is not None
    # the rail holds one refund of the PaymentIntent, in CNY, for the amount
    at_rail = rail_client(localstripe).v1.refunds.list(
        params={"payment_intent": payment.rail_reference}
    )
    assert [(r.id, r.amount, r.currency) for r in at_rail.data] == [
        (attempt.rail_reference, 2_000, "cny")
    ]
    ledger = ledger_service()
    assert ledger.balance(case.account_number).posted == 10_000
    assert ledger.balance(case.account_number).debits_pending == 0
    reservation = ledger.get_transfer(attempt.reservation_id)
    assert reservation.state is not None
    assert reservation.state.value == "posted"
    assert ledger.get_transfer(f"refund-paid:{attempt.rail_reference}").amount == 2_000
    assert refunds.store.held(paid.source) == 2_000
    approval = refunds.approval(refund_id)
    assert approval is not None
    assert approval.status == ApprovalStatus.APPROVED
    told = [d for d in outbox_deliveries(outbox) if d.kind == "refund.paid"]
    assert len(told) == len(case.debtors)
    assert "20.00" in told[0].body


def test_the_requester_cannot_approve_their_own_refund(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 10_000)
    refund_id = ask(refunds, payment.payment_id, 1_000, reason_code="paid_by_mistake")
    refunds.submit(refund_id, by=CLERK)
    before = refunds.get(refund_id)
    clerk_who_also_approves = person(CLERK.subject, Role.CLERK, Role.APPROVER, Role.FINANCE)
    with pytest.raises(RequesterCannotDecide):
        refunds.decide(refund_id, Decision.APPROVE, by=clerk_who_also_approves, text=None)
    assert refunds.get(refund_id) == before


def test_never_more_than_was_paid_in_one_refund_or_across_several(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 5_000)
    with pytest.raises(RefundExceedsPayment):
        ask(refunds, payment.payment_id, 5_001)
    first = ask(refunds, payment.payment_id, 3_000)
    second = ask(refunds, payment.payment_id, 3_000)  # a draft holds nothing yet
    assert approve_all(refunds, first).state == RefundState.PAID
    refunds.submit(second, by=CLERK)
    refunds.decide(second, Decision.APPROVE, by=CHIEF, text=None)
    waiting = refunds.get(second)
    with pytest.raises(RefundExceedsPayment):
        refunds.decide(second, Decision.APPROVE, by=FINANCE, text=None)
    assert refunds.get(second) == waiting
    approval = refunds.approval(second)
    assert approval is not None
    assert approval.next_step == 1
    with pytest.raises(RefundExceedsPayment):
        ask(refunds, payment.payment_id, 2_001)
    assert ask(refunds, payment.payment_id, 2_000)
    assert ledger_service().balance(case.account_number).posted == 2_000


def test_a_rejected_or_cancelled_refund_holds_and_reserves_nothing(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 4_000)
    rejected = ask(refunds, payment.payment_id, 4_000)
    refunds.submit(rejected, by=CLERK)
    done = refunds.decide(rejected, Decision.REJECT, by=CHIEF, text="不符合退付条件")
    assert done.state == RefundState.REJECTED
    cancelled = ask(refunds, payment.payment_id, 4_000)
    assert refunds.cancel(cancelled, by=CLERK, reason="申请有误").state == RefundState.CANCELLED
    assert refunds.store.held(done.source) == 0
    assert ledger_service().balance(case.account_number).debits_pending == 0


def test_a_returned_refund_is_answered_and_decided_again(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 4_000)
    refund_id = ask(refunds, payment.payment_id, 1_000, reason_code="duplicate_payment")
    refunds.submit(refund_id, by=CLERK)
    returned = refunds.decide(refund_id, Decision.RETURN, by=CHIEF, text="请附重复缴款凭证")
    assert returned.state == RefundState.RETURNED
    with pytest.raises(RefundStateConflict):
        refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    assert refunds.answer(refund_id, by=CLERK, answer="凭证已附").state == RefundState.SUBMITTED
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    assert refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None).state == (
        RefundState.PAID
    )


def test_a_request_must_name_a_received_payment(refunds: RefundService) -> None:
    with pytest.raises(SourceNotFound):
        ask(refunds, "pay-unknown", 100)
    with pytest.raises(ValueError, match="other"):
        RequestRefund.model_validate(
            {
                "source_kind": SourceKind.ONLINE.value,
                "source_reference": "p1",
                "amount": 1,
                "reason_code": ReasonCode.OTHER.value,
            }
        )
