"""Who may send a refund into its chain, unidentified money refunded or claimed but never both,
and a cancellation racing the payment back: the money goes out once or stays, never both."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.approvals import Decision, RequesterCannotDecide
from chalicelib.collection import ClaimAlreadySettled, ClaimStatus, CollectionService
from chalicelib.identity.roles import Role
from chalicelib.ledger import SystemAccount
from chalicelib.refunds import (
    NotRefundRequester,
    RefundChanged,
    RefundService,
    RefundState,
    SourceNotRefundable,
)
from chalicelib.refunds.models import RequestRefund
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case, rail_client
from tests.refunds.conftest import (
    CHIEF,
    CLERK,
    FINANCE,
    claim_to_case,
    paid_online,
    person,
    unidentified_payment,
)

COURT = "粤0604"
POOL = SystemAccount.UNIDENTIFIED_FUNDS.of("CNY")


def _ask(refunds: RefundService, kind: str, reference: str, amount: int, by: Any = CLERK) -> str:
    body = {
        "source_kind": kind,
        "source_reference": reference,
        "amount": amount,
        "reason_code": "unidentified_funds" if kind == "unidentified" else "overpayment",
    }
    if kind == "unidentified":
        body["court"] = COURT
    return refunds.request(RequestRefund.model_validate(body), by=by).refund_id


def test_a_clerks_request_is_sent_into_the_chain_only_by_that_clerk(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 10_000)
    # a clerk who also holds the approver role asks; a colleague must not become the
    # requester in their place, or the one who asked could approve it
    asker = person("clerk-a", Role.CLERK, Role.APPROVER)
    refund_id = _ask(refunds, "online", payment.payment_id, 1_000, by=asker)
    draft = refunds.get(refund_id)
    with pytest.raises(NotRefundRequester):
        refunds.submit(refund_id, by=person("clerk-b", Role.CLERK))
    assert refunds.get(refund_id) == draft
    assert refunds.approval(refund_id) is None
    refunds.submit(refund_id, by=asker)
    with pytest.raises(RequesterCannotDecide):
        refunds.decide(refund_id, Decision.APPROVE, by=asker, text=None)


def test_refunded_unidentified_money_cannot_be_claimed_to_a_case(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=100_000)
    reference = unidentified_payment(collection, localstripe, 7_700)
    unidentified_payment(collection, localstripe, 9_000)  # someone else's money in the same pool
    refund_id = _ask(refunds, "unidentified", reference, 7_700)
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    assert refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None).state == (
        RefundState.PAID
    )
    item = collection.store.unidentified(reference)
    assert item is not None
    assert (item.status, item.refund_id) == (ClaimStatus.REFUNDED, refund_id)
    assert reference not in [
        i.reference for i in collection.unidentified_queue(ClaimStatus.OPEN, limit=10)
    ]
    with pytest.raises(ClaimAlreadySettled, match="refunded"):
        claim_to_case(collection, reference, case.account_number)
    assert ledger_service().balance(case.account_number).posted == 0
    assert ledger_service().balance(POOL).posted == 9_000  # the other payer's money stays


def test_unidentified_money_claimed_meanwhile_is_not_refunded_from_the_pool(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=100_000)
    reference = unidentified_payment(collection, localstripe, 7_700)
    unidentified_payment(collection, localstripe, 9_000)
    refund_id = _ask(refunds, "unidentified", reference, 7_700)
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    waiting = refunds.get(refund_id)
    claim_to_case(collection, reference, case.account_number)  # claimed while the chain decided

    with pytest.raises(SourceNotRefundable, match="claimed"):
        refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert refunds.get(refund_id) == waiting
    assert refunds.store.held(waiting.source) == 0
    pool = ledger_service().balance(POOL)
    assert (pool.posted, pool.debits_pending) == (9_000, 0)
    at_rail = rail_client(localstripe).v1.refunds.list(params={"payment_intent": reference})
    assert list(at_rail.data) == []


def test_a_cancelled_refund_of_unidentified_money_puts_it_back_for_a_claim(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.collection import PaymentConflict

    case = open_case(amount=100_000)
    reference = unidentified_payment(collection, localstripe, 5_000)
    refund_id = _ask(refunds, "unidentified", reference, 5_000)
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    rail = wiring.payment_rail()

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise PaymentConflict("the card account is closed")

    monkeypatch.setattr(rail, "refund", refused)
    failed = refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert failed.state == RefundState.FAILED
    held = collection.store.unidentified(reference)
    assert held is not None
    assert held.status == ClaimStatus.REFUNDED  # a failed refund is reissued or cancelled
    refunds.cancel(refund_id, by=CLERK, reason="付款人要求认领到案件")
    reopened = collection.store.unidentified(reference)
    assert reopened is not None
    assert (reopened.status, reopened.refund_id) == (ClaimStatus.OPEN, None)
    claim_to_case(collection, reference, case.account_number)
    assert ledger_service().balance(case.account_number).posted == 5_000
    assert ledger_service().balance(POOL).posted == 0


def test_a_cancellation_that_read_before_the_payment_back_began_voids_nothing(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sweeper sends an approved refund while a clerk cancels the copy they loaded before:
    the rail pays, so the cancellation must lose and release nothing."""
    case = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, case, 10_000)
    refund_id = _ask(refunds, "online", payment.payment_id, 3_000)
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    send = refunds.payback.send
    crashes: list[str] = []

    def crash_once(refund: Any) -> Any:
        if not crashes:
            crashes.append("crashed")
            raise RuntimeError("the Lambda died after the reservation")
        return send(refund)

    monkeypatch.setattr(refunds.payback, "send", crash_once)
    stale = refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert stale.state == RefundState.APPROVED  # reserved, not sent: the sweeper's work
    rail = wiring.payment_rail()
    pay_back = rail.refund
    outcome: list[str] = []

    def cancel_while_the_rail_pays(*args: Any, **kwargs: Any) -> Any:
        with monkeypatch.context() as loaded_before:
            loaded_before.setattr(refunds, "get", lambda _id: stale)
            try:
                refunds.cancel(refund_id, by=CLERK, reason="当事人撤回")
                outcome.append("cancelled")
            except RefundChanged:
                outcome.append("refused")
        return pay_back(*args, **kwargs)

    monkeypatch.setattr(rail, "refund", cancel_while_the_rail_pays)
    refunds.payback.sweep()
    assert outcome == ["refused"]
    done = refunds.get(refund_id)
    assert done.state == RefundState.PAID
    reservation = ledger_service().get_transfer(done.attempts[-1].reservation_id)
    assert reservation.state is not None
    assert reservation.state.value == "posted"
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (7_000, 0)
    assert refunds.store.held(done.source) == 3_000


def test_a_cancelled_approved_refund_is_voided_even_after_a_crash_before_the_void(
    refunds: RefundService,
    collection: CollectionService,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.refunds.conftest import counter_cash

    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 4_000)
    refund_id = _ask(refunds, "counter_cash", "cash-1", 4_000)
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert ledger_service().balance(case.account_number).debits_pending == 4_000

    def crash(refund: Any) -> None:
        raise RuntimeError("the Lambda died after the cancellation was stored")

    with monkeypatch.context() as dying:
        dying.setattr(refunds.payback, "void_reservation", crash)
        with pytest.raises(RuntimeError):
            refunds.cancel(refund_id, by=FINANCE, reason="当事人撤回")
    assert refunds.get(refund_id).state == RefundState.CANCELLED
    assert ledger_service().balance(case.account_number).debits_pending == 4_000

    assert refunds.payback.sweep()["voided"] == 1
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (4_000, 0)
    assert refunds.payback.sweep()["voided"] == 0
    assert refunds.store.held(refunds.get(refund_id).source) == 0


def test_a_colleague_does_not_withdraw_a_decided_refund_or_anothers_draft(
    refunds: RefundService, collection: CollectionService, clock: Any
) -> None:
    from tests.refunds.conftest import FINANCE_2, counter_cash

    case = open_case(amount=10_000)
    counter_cash(collection, clock, case, 6_000)
    colleague = person("clerk-wu", Role.CLERK)
    draft = _ask(refunds, "counter_cash", "cash-1", 1_000)
    with pytest.raises(NotRefundRequester):
        refunds.cancel(draft, by=colleague, reason="不需要")
    assert refunds.get(draft).state == RefundState.DRAFT
    assert refunds.cancel(draft, by=CLERK, reason="申请有误").state == RefundState.CANCELLED

    decided = []
    for _ in range(2):
        refund_id = _ask(refunds, "counter_cash", "cash-1", 2_000)
        refunds.submit(refund_id, by=CLERK)
        refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
        refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
        decided.append(refund_id)
    approved = refunds.get(decided[0])
    with pytest.raises(NotRefundRequester):
        refunds.cancel(decided[0], by=colleague, reason="不需要")
    assert refunds.get(decided[0]) == approved
    assert ledger_service().balance(case.account_number).debits_pending == 4_000
    assert refunds.cancel(decided[0], by=CLERK, reason="当事人撤回").state == (
        RefundState.CANCELLED
    )
    assert refunds.cancel(decided[1], by=FINANCE_2, reason="当事人撤回").state == (
        RefundState.CANCELLED
    )
    balance = ledger_service().balance(case.account_number)
    assert (balance.posted, balance.debits_pending) == (6_000, 0)


def test_a_claim_that_read_the_money_open_just_before_its_refund_was_approved_moves_nothing(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The claim's confirmation loaded the item while it was open; the refund's last approval
    took it out of the queue before the claim posted: the claim's posting checks the item in
    its own transaction, so the money goes back once and to no case."""
    case = open_case(amount=100_000)
    reference = unidentified_payment(collection, localstripe, 7_700)
    unidentified_payment(collection, localstripe, 9_000)
    store = collection.confirmed._store
    loaded_open = store.unidentified(reference)
    refund_id = _ask(refunds, "unidentified", reference, 7_700)
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    assert refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None).state == (
        RefundState.PAID
    )
    read = store.unidentified
    reads: list[str] = []

    def first_read_was_before_the_refund(ref: str) -> Any:
        reads.append(ref)
        return loaded_open if len(reads) == 1 else read(ref)

    monkeypatch.setattr(store, "unidentified", first_read_was_before_the_refund)
    with pytest.raises(ClaimAlreadySettled, match="refunded"):
        claim_to_case(collection, reference, case.account_number)
    assert ledger_service().balance(case.account_number).posted == 0
    assert ledger_service().balance(POOL).posted == 9_000
