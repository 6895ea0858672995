"""Automatic drafts: a flagged surplus, a concluded case with money left, and unidentified
funds nobody claimed within the working days allowed, once their published period (公示) ended
(then refunded through the rail)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.approvals import Decision
from chalicelib.cases.models import CaseStatus
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.deadlines import DeadlineService, DeadlineStore, LimitKind
from chalicelib.ledger import SystemAccount
from chalicelib.notifications import OutboxNotifier
from chalicelib.refunds import (
    Drafts,
    Origin,
    RefundService,
    RefundState,
    RefundStateConflict,
    SourceKind,
)
from chalicelib.refunds.sources import Sources
from chalicelib.settings import Settings
from chalicelib.wiring import case_service, ledger_service, refund_drafts
from chalicelib.workdays import court_date
from tests.collection.conftest import foreign_intent, open_case, pay_at_rail
from tests.refunds.conftest import CHIEF, CLERK, FINANCE, paid_online

COURT = "粤0604"


def deadline_job(
    refunds: RefundService, collection: CollectionService, clock: FixedClock, tmp_path: Path
) -> tuple[DeadlineService, Drafts]:
    """The daily deadline job for a court that handles unidentified funds, drafting refunds of
    what nobody claimed through ``Drafts``."""
    drafts = Drafts(
        refunds,
        Sources(collection, case_service()),
        collection=collection,
        cases=case_service(),
        ledger=ledger_service(),
        unidentified_court=COURT,
    )
    deadlines = DeadlineService(
        DeadlineStore(wiring.dynamodb(), wiring.table_name("OVERSIGHT_TABLE")),
        wiring.working_calendar(),
        Settings(unidentified_funds_court=COURT),
        collection.store,
        notifier=OutboxNotifier(tmp_path / "told.jsonl", clock=clock),
        clock=clock,
        refunds=lambda: drafts,
    )
    return deadlines, drafts


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


def test_drafts_made_again_after_a_crash_never_cover_more_than_the_case_holds(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """7,000.00 came in, 2,000.00 of it is held for a creditor: the drafts return at most
    5,000.00, even when the first run died after its first draft and a second run finishes."""
    from chalicelib.ledger import postings

    case = open_case(amount=10_000)
    older = paid_online(collection, localstripe, case, 4_000)
    clock.advance(timedelta(minutes=1))
    newer = paid_online(collection, localstripe, case, 3_000)
    held = postings.disbursement_reservation(
        id="disb:d-1:1", account=case.account_number, amount=2_000, currency="CNY",
        requested_by="system:payouts", disbursement_id="d-1", attempt=1,
        case_id=case.case_id, creditor_party_id="p-1", timeout_seconds=30 * 24 * 3600,
    )  # fmt: skip
    ledger_service().transfer(held)
    case_service().change_status(
        case.case_id, CaseStatus.CONCLUDED, reason="执行终结", actor="clerk-1"
    )
    draft = refunds.draft
    first: list[Any] = []

    def dies_after_the_first(*args: Any, **kwargs: Any) -> Any:
        if first:
            raise RuntimeError("the function stopped here")
        first.append(draft(*args, **kwargs))
        return first[0]

    monkeypatch.setattr(refunds, "draft", dies_after_the_first)
    with pytest.raises(RuntimeError):
        refund_drafts().for_concluded_case(case.case_id)
    monkeypatch.undo()
    again = refund_drafts().for_concluded_case(case.case_id)
    drafted = [(d.source.reference, d.amount) for d in [*first, *again]]
    assert drafted == [(newer.payment_id, 3_000), (older.payment_id, 2_000)]


def test_concluding_a_case_with_money_left_drafts_it_back_at_the_next_sweep_once(
    refunds: RefundService, collection: CollectionService, localstripe: str, clock: FixedClock
) -> None:
    """Nobody has to ask: the hourly sweep drafts the money a case held when it was
    concluded, once however often it runs; a case concluded empty gets no draft."""
    held = open_case(amount=10_000)
    payment = paid_online(collection, localstripe, held, 4_000)
    empty = open_case(serial=4402, amount=10_000)
    assert refund_drafts().sweep()["concluded"] == 0
    for case in (held, empty):
        case_service().change_status(
            case.case_id, CaseStatus.CONCLUDED, reason="执行终结", actor="clerk-1"
        )
    assert set(case_service().concluded_to_follow(limit=10)) == {held.case_id, empty.case_id}

    assert refund_drafts().sweep()["concluded"] == 1
    drafted = refunds.get(f"concluded-{held.case_id}-{payment.payment_id}")
    assert (drafted.state, drafted.origin, drafted.amount) == (
        RefundState.DRAFT,
        Origin.CONCLUDED,
        4_000,
    )
    assert case_service().concluded_to_follow(limit=10) == ()
    assert refund_drafts().sweep()["concluded"] == 0


def test_unclaimed_funds_are_published_then_drafted_once_and_paid_back(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    reference = foreign_intent(localstripe, 7_700)
    pay_at_rail(localstripe, reference)
    assert collection.settle(collection.rail.retrieve(reference)).outcome == "unidentified"
    deadlines, drafts = deadline_job(refunds, collection, clock, tmp_path)
    # The claim clock started when the money arrived, counted on the PRC calendar.
    claim = deadlines.store.clock(LimitKind.CLAIM, reference)
    assert claim is not None
    arrived = court_date(clock.now())
    assert claim.due_on == wiring.working_calendar().add_working_days(arrived, 3).due

    published_on = arrived + timedelta(days=10)  # past three working days, whatever the week
    assert deadlines.run(published_on).published == 1
    assert refunds.queue(COURT, RefundState.DRAFT) == []  # published first: nothing drafted
    ended = deadlines.run(published_on + timedelta(days=31))
    assert (ended.refund_due, ended.refunds_drafted) == (1, 1)
    assert deadlines.run(published_on + timedelta(days=31)).refunds_drafted == 0
    assert drafts.draft_unclaimed(reference) == f"unclaimed-{reference}"  # asked again: the same
    (made,) = refunds.queue(COURT, RefundState.DRAFT)
    assert (made.refund_id, made.amount, made.source.kind, made.origin) == (
        f"unclaimed-{reference}",
        7_700,
        SourceKind.UNIDENTIFIED,
        Origin.UNCLAIMED,
    )
    refund_id = made.refund_id
    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    paid = refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert paid.state == RefundState.PAID
    unidentified = ledger_service().balance(SystemAccount.UNIDENTIFIED_FUNDS.of("CNY"))
    assert (unidentified.posted, unidentified.debits_pending) == (0, 0)


def test_no_unclaimed_refund_is_drafted_without_a_court_to_decide_it(
    refunds: RefundService, collection: CollectionService, localstripe: str
) -> None:
    reference = foreign_intent(localstripe, 1_200)
    pay_at_rail(localstripe, reference)
    collection.settle(collection.rail.retrieve(reference))
    assert refund_drafts().draft_unclaimed(reference) is None


def test_money_a_refund_returns_is_neither_published_nor_drafted_again(
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    from chalicelib.deadlines import PublicationStatus
    from chalicelib.refunds.models import RequestRefund

    early, late = foreign_intent(localstripe, 3_300), foreign_intent(localstripe, 4_400)
    for reference in (early, late):
        pay_at_rail(localstripe, reference)
        collection.settle(collection.rail.retrieve(reference))
    deadlines = DeadlineService(
        DeadlineStore(wiring.dynamodb(), wiring.table_name("OVERSIGHT_TABLE")),
        wiring.working_calendar(),
        Settings(unidentified_funds_court=COURT),
        collection.store,
        notifier=OutboxNotifier(tmp_path / "told.jsonl", clock=clock),
        clock=clock,
        refunds=refund_drafts,
    )

    def refund(reference: str, fen: int) -> str:
        asked = refunds.request(
            RequestRefund.model_validate(
                {
                    "source_kind": "unidentified",
                    "source_reference": reference,
                    "amount": fen,
                    "reason_code": "paid_by_mistake",
                    "court": COURT,
                }
            ),
            by=CLERK,
        )
        refunds.submit(asked.refund_id, by=CLERK)
        refunds.decide(asked.refund_id, Decision.APPROVE, by=CHIEF, text=None)
        paid = refunds.decide(asked.refund_id, Decision.APPROVE, by=FINANCE, text=None)
        assert paid.state == RefundState.PAID
        return asked.refund_id

    refund(early, 3_300)  # the payer called before the claim limit ran out
    published_on = court_date(clock.now()) + timedelta(days=10)
    first = deadlines.run(published_on)
    assert (first.published, first.deferred) == (1, 1)
    assert deadlines.store.publication(early) is None  # never on the public page
    assert deadlines.store.publication(late) is not None

    late_refund = refund(late, 4_400)  # refunded while published
    deadlines.run(published_on + timedelta(days=1))
    shown = deadlines.store.publication(late)
    assert shown is not None
    assert (shown.status, shown.refund_id) == (PublicationStatus.REFUND_DRAFTED, late_refund)
    ended = deadlines.run(published_on + timedelta(days=31))
    assert (ended.published, ended.refund_due, ended.refunds_drafted) == (0, 0, 0)
    assert refunds.queue(COURT, RefundState.DRAFT) == []


def _failed(refunds: RefundService, refund_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Approved, and the payment service refuses it: the money stays held by the refund until
    it is reissued or cancelled."""
    from chalicelib.collection import PaymentConflict

    def refused(*args: object, **kwargs: object) -> object:
        raise PaymentConflict("the card account is closed")

    refunds.submit(refund_id, by=CLERK)
    refunds.decide(refund_id, Decision.APPROVE, by=CHIEF, text=None)
    with monkeypatch.context() as patched:
        patched.setattr(wiring.payment_rail(), "refund", refused)
        failed = refunds.decide(refund_id, Decision.APPROVE, by=FINANCE, text=None)
    assert failed.state == RefundState.FAILED


def _cancelled(refunds: RefundService, refund_id: str) -> None:
    """The clerk cancels it: the money is open for a claim again."""
    assert refunds.cancel(refund_id, by=CLERK, reason="付款人要求认领").state == (
        RefundState.CANCELLED
    )


def test_money_whose_refund_was_cancelled_is_published_again_or_drafted_anew(
    *,
    refunds: RefundService,
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.collection import ClaimStatus
    from chalicelib.deadlines import PublicationStatus
    from chalicelib.refunds.models import RequestRefund

    drafted, shown = foreign_intent(localstripe, 5_500), foreign_intent(localstripe, 6_600)
    for reference in (drafted, shown):
        pay_at_rail(localstripe, reference)
        collection.settle(collection.rail.retrieve(reference))
    deadlines, drafts = deadline_job(refunds, collection, clock, tmp_path)
    published_on = court_date(clock.now()) + timedelta(days=10)
    assert deadlines.run(published_on).published == 2

    # a clerk's refund of money on the public page, cancelled: the money is shown again
    asked = refunds.request(
        RequestRefund.model_validate(
            {
                "source_kind": "unidentified",
                "source_reference": shown,
                "amount": 6_600,
                "reason_code": "paid_by_mistake",
                "court": COURT,
            }
        ),
        by=CLERK,
    )
    _failed(refunds, asked.refund_id, monkeypatch)
    deadlines.run(published_on + timedelta(days=1))
    taken = deadlines.store.publication(shown)
    assert taken is not None
    assert (taken.status, taken.refund_id) == (PublicationStatus.REFUND_DRAFTED, asked.refund_id)
    _cancelled(refunds, asked.refund_id)
    deadlines.run(published_on + timedelta(days=2))
    again = deadlines.store.publication(shown)
    assert again is not None
    assert (again.status, again.refund_id) == (PublicationStatus.PUBLISHED, None)
    assert shown in [p.reference for p in deadlines.published(PublicationStatus.PUBLISHED)]

    # the automatic draft after the published period, cancelled: a new draft, a new id
    ended = published_on + timedelta(days=31)
    assert deadlines.run(ended).refunds_drafted == 2
    first = f"unclaimed-{drafted}"
    _failed(refunds, first, monkeypatch)
    assert deadlines.run(ended).refunds_drafted == 0
    _cancelled(refunds, first)
    item = collection.store.unidentified(drafted)
    assert item is not None
    assert item.status == ClaimStatus.OPEN
    assert deadlines.run(ended + timedelta(days=1)).refunds_drafted == 1
    redrafted = deadlines.store.publication(drafted)
    assert redrafted is not None
    assert (redrafted.status, redrafted.refund_id) == (
        PublicationStatus.REFUND_DRAFTED,
        f"{first}-2",
    )
    assert drafts.draft_unclaimed(drafted) == f"{first}-2"  # asked again: the same new draft
    assert deadlines.run(ended + timedelta(days=2)).refunds_drafted == 0
    made = refunds.get(f"{first}-2")
    assert (made.state, made.amount, made.origin) == (RefundState.DRAFT, 5_500, Origin.UNCLAIMED)
