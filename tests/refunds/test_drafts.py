"""Automatic drafts: a flagged surplus, a concluded case with money left, and unidentified
funds nobody claimed within the working days allowed (then refunded through the rail)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.approvals import Decision
from chalicelib.cases.models import CaseStatus
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.ledger import SystemAccount
from chalicelib.refunds import (
    Drafts,
    Origin,
    RefundService,
    RefundState,
    RefundStateConflict,
    SourceKind,
)
from chalicelib.refunds.sources import Sources
from chalicelib.wiring import case_service, ledger_service, refund_drafts
from tests.collection.conftest import foreign_intent, open_case, pay_at_rail
from tests.refunds.conftest import CHIEF, CLERK, FINANCE, paid_online

COURT = "粤0604"


def test_a_flagged_surplus_is_drafted_once_from_the_payment_that_made_it(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    paid_online(collection, localstripe, case, 8_000)
    # 20.00 remain; a payment may be at most twice that: 35.00 leaves a surplus of 15.00
    over = paid_online(collection, localstripe, case, 3_500, surplus=True)
    made = refund_drafts().from_surpluses()
    assert [(d.refund_id, d.amount, d.origin, d.state) for d in made] == [
        (f"surplus-{case.case_id}", 1_500, Origin.SURPLUS, RefundState.DRAFT)
    ]
    assert made[0].source.reference == over.payment_id
    assert refund_drafts().from_surpluses() == []


def test_a_concluded_case_with_money_left_is_drafted_newest_payment_first(
    refunds: RefundService, collection: CollectionService, localstripe: str, clock: FixedClock
) -> None:
    case = open_case(amount=10_000)
    older = paid_online(collection, localstripe, case, 3_000)
    clock.advance(timedelta(minutes=1))  # the fixed clock stands still unless moved
    newer = paid_online(collection, localstripe, case, 2_000)
    with pytest.raises(RefundStateConflict):
        refund_drafts().for_concluded_case(case.case_id)
    case_service().change_status(
        case.case_id, CaseStatus.CONCLUDED, reason="执行终结", actor="clerk-1"
    )
    made = refund_drafts().for_concluded_case(case.case_id)
    assert [(d.source.reference, d.amount) for d in made] == [
        (newer.payment_id, 2_000),
        (older.payment_id, 3_000),
    ]
    assert refund_drafts().for_concluded_case(case.case_id) == []


def test_unclaimed_unidentified_funds_are_drafted_after_the_working_days_and_paid_back(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
) -> None:
    reference = foreign_intent(localstripe, 7_700)
    pay_at_rail(localstripe, reference)
    assert collection.settle(collection.rail.retrieve(reference)).outcome == "unidentified"
    drafts = Drafts(
        refunds,
        Sources(collection, case_service()),
        clock,
        collection=collection,
        cases=case_service(),
        ledger=ledger_service(),
        unclaimed_after_working_days=3,
        unidentified_court=COURT,
    )
    assert drafts.from_unclaimed() == []
    clock.advance(timedelta(days=6))  # three working days have passed, whatever the weekday
    made = drafts.from_unclaimed()
    assert [(d.refund_id, d.amount, d.source.kind) for d in made] == [
        (f"unclaimed-{reference}", 7_700, SourceKind.UNIDENTIFIED)
    ]
    refund_id = made[0].refund_id
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    paid = refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert paid.state == RefundState.PAID
    unidentified = ledger_service().balance(SystemAccount.UNIDENTIFIED_FUNDS.of("CNY"))
    assert (unidentified.posted, unidentified.debits_pending) == (0, 0)
    assert drafts.from_unclaimed() == []
