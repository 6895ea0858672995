"""Unidentified money goes to one place: a claim that posted to the ledger takes it even before
the claim is recorded, and a refund returns all of it or none of it."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.approvals import Decision
from chalicelib.collection import ClaimStatus, CollectionService
from chalicelib.ledger import SystemAccount
from chalicelib.refunds import (
    RefundService,
    RefundState,
    SourceNotRefundable,
    UnidentifiedRefundedWhole,
)
from chalicelib.refunds.models import RequestRefund
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case, rail_client
from tests.refunds.conftest import (
    CHIEF,
    CLERK,
    FINANCE,
    claim_to_case,
    unidentified_payment,
)

COURT = "粤0604"
POOL = SystemAccount.UNIDENTIFIED_FUNDS.of("CNY")


def _ask(refunds: RefundService, reference: str, amount: int) -> str:
    body = RequestRefund.model_validate(
        {
            "source_kind": "unidentified",
            "source_reference": reference,
            "amount": amount,
            "reason_code": "unidentified_funds",
            "court": COURT,
        }
    )
    return refunds.request(body, by=CLERK).refund_id


def _crash_after_posting(
    collection: CollectionService, monkeypatch: pytest.MonkeyPatch, reference: str, account: str
) -> None:
    """The claim's ledger posting commits; the function dies before the item reads claimed."""

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("the function timed out")

    monkeypatch.setattr(collection.store, "commit_claim", crash)
    with pytest.raises(ConnectionError):
        claim_to_case(collection, reference, account)
    monkeypatch.undo()


def test_a_refund_in_the_chain_is_refused_money_a_crashed_claim_posted_and_the_claim_finishes(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=100_000)
    reference = unidentified_payment(collection, localstripe, 7_700)
    unidentified_payment(collection, localstripe, 9_000)  # another payer's money in the same pool
    refund_id = _ask(refunds, reference, 7_700)
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    waiting = refunds.get(refund_id)
    _crash_after_posting(collection, monkeypatch, reference, case.account_number)
    half_done = collection.store.unidentified(reference)
    assert half_done is not None
    assert half_done.status == ClaimStatus.OPEN

    with pytest.raises(SourceNotRefundable, match="claimed"):
        refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert refunds.get(refund_id) == waiting
    assert refunds.store.held(waiting.source) == 0
    pool = ledger_service().balance(POOL)
    assert (pool.posted, pool.debits_pending) == (9_000, 0)
    at_rail = rail_client(localstripe).v1.refunds.list(params={"payment_intent": reference})
    assert list(at_rail.data) == []

    claimed = claim_to_case(collection, reference, case.account_number)  # the claim's own retry
    assert claimed.status == ClaimStatus.CLAIMED
    claim_to_case(collection, reference, case.account_number)  # and once more: counted once
    standing = collection.store.standing(case.case_id)
    assert (standing.paid, standing.payments) == (7_700, 1)
    assert ledger_service().balance(case.account_number).posted == 7_700


def test_no_refund_is_asked_for_money_a_crashed_claim_posted(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=100_000)
    reference = unidentified_payment(collection, localstripe, 4_400)
    _crash_after_posting(collection, monkeypatch, reference, case.account_number)
    with pytest.raises(SourceNotRefundable, match="claimed"):
        _ask(refunds, reference, 4_400)
    assert refunds.queue(COURT, RefundState.DRAFT) == []
    assert claim_to_case(collection, reference, case.account_number).status == ClaimStatus.CLAIMED
    assert collection.store.standing(case.case_id).paid == 4_400
    assert ledger_service().balance(POOL).posted == 0


@pytest.mark.parametrize("amount", [3_000, 7_699])
def test_unidentified_money_is_refunded_whole_or_not_at_all(
    refunds: RefundService, collection: CollectionService, localstripe: str, amount: int
) -> None:
    """Its last approval takes the whole payment out of the claim queue, so a part refunded
    would leave the rest neither refundable nor claimable."""
    case = open_case(amount=100_000)
    reference = unidentified_payment(collection, localstripe, 7_700)
    with pytest.raises(UnidentifiedRefundedWhole, match=r"refund all 77\.00 yuan"):
        _ask(refunds, reference, amount)
    assert refunds.queue(COURT, RefundState.DRAFT) == []
    item = collection.store.unidentified(reference)
    assert item is not None
    assert (item.status, item.refund_id) == (ClaimStatus.OPEN, None)
    refund_id = _ask(refunds, reference, 7_700)  # the whole of it is refunded
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    paid = refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert (paid.state, paid.amount) == (RefundState.PAID, 7_700)
    assert ledger_service().balance(POOL).posted == 0
    assert ledger_service().balance(case.account_number).posted == 0


def test_a_part_of_unidentified_money_asked_for_by_route_is_a_clear_problem(
    api: Any, token: Any, refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    import json

    reference = unidentified_payment(collection, localstripe, 7_700)
    asked = api.post(
        "/refunds",
        headers=token("clerk"),
        body=json.dumps(
            {
                "source_kind": "unidentified",
                "source_reference": reference,
                "amount": "50.00",
                "reason_code": "unidentified_funds",
                "court": COURT,
            }
        ),
    )
    assert asked.status_code == 409, asked.body
    assert asked.headers["Content-Type"].startswith("application/problem+json")
    assert asked.json_body["type"].endswith("refunds/unidentified-refunded-whole")
    assert "77.00" in asked.json_body["detail"]
    assert refunds.queue(COURT, RefundState.DRAFT) == []
