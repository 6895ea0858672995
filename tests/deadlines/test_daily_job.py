"""The daily deadline job: escalation up the approval chain once per overdue item per day, 公示,
and a refund draft after the published period; the clocks of money arriving on a case."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.collection.models import ClaimStatus, UnidentifiedPayment
from chalicelib.deadlines import (
    DeadlineService,
    DeadlineStore,
    Deferral,
    LimitKind,
    PublicationStatus,
)
from chalicelib.deadlines.page import render
from chalicelib.notifications import Delivery, Notification
from chalicelib.settings import Settings
from chalicelib.workdays import WorkingCalendar
from tests.workdays.test_working_calendar import Schedules

CHIEF = "执行局长 bureau chief"
LEADER = "分管院领导 court leader"
FINANCE = "财务 finance"
CONTACTS = {
    "*": {CHIEF: ["13800000001"], FINANCE: ["finance@court.example"]},
    "粤0604": {CHIEF: ["13800000604"], LEADER: ["leader@court.example"]},
}
ARRIVED = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)  # Tuesday 29 September, 10:00 in Beijing
DUE = date(2026, 10, 9)  # 3 working days: 30 September, 8 and 9 October


class Queue:
    """Collection's claim queue, as its store answers."""

    def __init__(self) -> None:
        self.items: dict[str, UnidentifiedPayment] = {}

    def add(self, reference: str, amount: int) -> None:
        self.items[reference] = UnidentifiedPayment(
            reference=reference,
            rail="stripe",
            amount=amount,
            currency="CNY",
            received_at=ARRIVED,
            status=ClaimStatus.OPEN,
            why="no case in the payment's metadata",
            receipt_transfer_id=f"unidentified:stripe:{reference}",
        )

    def claim(self, reference: str, at: datetime) -> None:
        self.items[reference] = self.items[reference].model_copy(
            update={"status": ClaimStatus.CLAIMED, "claimed_at": at}
        )

    def unidentified_queue(self, status: ClaimStatus, *, limit: int) -> list[UnidentifiedPayment]:
        return [i for i in self.items.values() if i.status is status][:limit]

    def unidentified(self, reference: str) -> UnidentifiedPayment | None:
        return self.items.get(reference)


class Told:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def notify(self, notification: Notification) -> list[Delivery]:
        self.sent.append(notification)
        return []


@pytest.fixture
def queue() -> Queue:
    return Queue()


@pytest.fixture
def told() -> Told:
    return Told()


@pytest.fixture
def job(aws: Any, queue: Queue, told: Told, clock: FixedClock) -> DeadlineService:
    clock.set(ARRIVED)
    settings = Settings(escalation_contacts=CONTACTS)
    calendar = WorkingCalendar(Schedules(), clock=clock, refresh_seconds=0)
    store = DeadlineStore(aws, wiring.table_name("OVERSIGHT_TABLE"))
    return DeadlineService(store, calendar, settings, queue, notifier=told, clock=clock)


def test_an_overdue_claim_is_escalated_once_a_day_however_often_the_job_runs(
    job: DeadlineService, queue: Queue, told: Told
) -> None:
    queue.add("pi_3NabcdefGHIJ1234", 88_800)
    early = job.run(date(2026, 10, 8))
    assert (early.near_due, early.overdue, early.escalated) == (1, 0, 0)
    first = job.run(date(2026, 10, 12))
    again = job.run(date(2026, 10, 12))
    assert (first.overdue, first.escalated) == (1, 1)
    assert (again.overdue, again.escalated) == (1, 0)
    assert len(told.sent) == 1
    assert told.sent[0].recipients[0].address == "13800000001"
    next_day = job.run(date(2026, 10, 13))
    assert next_day.escalated == 1
    # The next post of the refund chain (888.00 yuan: the bureau chief, then finance).
    assert told.sent[-1].recipients[0].address == "finance@court.example"
    escalations = job.store.escalations(LimitKind.CLAIM, "pi_3NabcdefGHIJ1234")
    assert sorted((e.level, e.post, e.role) for e in escalations) == [
        (1, CHIEF, "approver"),
        (2, FINANCE, "finance"),
    ]


def test_unclaimed_money_is_published_masked_then_due_for_refund(
    job: DeadlineService, queue: Queue
) -> None:
    queue.add("pi_3NabcdefGHIJ1234", 88_800)
    assert job.run(date(2026, 10, 12)).published == 1
    assert job.run(date(2026, 10, 12)).published == 0
    (published,) = job.store.publications(PublicationStatus.PUBLISHED)
    assert published.masked_reference == "pi_******1234"
    assert (published.arrived_on, published.amount) == (date(2026, 9, 29), 88_800)
    page = render([published])
    assert "pi_******1234" in page
    assert "888.00" in page
    assert "2026-09-29" in page
    assert "pi_3NabcdefGHIJ1234" not in page
    assert "<script" not in page

    assert job.run(published.published_until).refund_due == 0
    ended = job.run(date(2026, 11, 12))
    assert ended.refund_due == 1
    (due,) = job.store.publications(PublicationStatus.REFUND_DUE)
    assert due.refund_due_on == date(2026, 11, 12)


def test_a_claim_meets_the_clock_and_takes_the_money_off_the_page(
    job: DeadlineService, queue: Queue, told: Told
) -> None:
    queue.add("pi_3NabcdefGHIJ1234", 88_800)
    job.run(date(2026, 10, 12))
    queue.claim("pi_3NabcdefGHIJ1234", datetime(2026, 10, 13, 3, 0, tzinfo=UTC))
    report = job.run(date(2026, 10, 14))
    assert (report.met, report.overdue, report.escalated) == (1, 0, 0)
    assert job.store.publications(PublicationStatus.PUBLISHED) == []
    clock = job.store.clock(LimitKind.CLAIM, "pi_3NabcdefGHIJ1234")
    assert clock is not None
    assert clock.met_on == date(2026, 10, 13)
    assert len(told.sent) == 1


def test_a_deferred_disbursement_is_not_escalated_until_its_deferral_ends(
    job: DeadlineService,
) -> None:
    clock = job.track(LimitKind.DISBURSEMENT, subject="d-1", court="粤0604", arrived_at=ARRIVED)
    # 15 working days: National Day week off, Saturday 10 October worked.
    assert clock.due_on == date(2026, 10, 26)
    job.defer(
        LimitKind.DISBURSEMENT,
        "d-1",
        Deferral(reason="案外人异议审查中", until=date(2026, 11, 20), approved_by="approver-1"),
    )
    during = job.run(date(2026, 11, 2))
    assert (during.deferred, during.escalated) == (1, 0)
    after = job.run(date(2026, 11, 23))
    assert (after.overdue, after.escalated) == (1, 1)


def test_tracking_an_item_again_keeps_its_first_clock(job: DeadlineService) -> None:
    first = job.track(
        LimitKind.NOTICE, subject="4406042600000011", court="粤0604", arrived_at=ARRIVED
    )
    later = job.track(
        LimitKind.NOTICE,
        subject="4406042600000011",
        court="粤0604",
        arrived_at=datetime(2026, 10, 20, tzinfo=UTC),
    )
    assert later == first


def test_a_large_sum_is_escalated_through_the_court_leader_to_the_posts_of_its_court(
    job: DeadlineService, told: Told
) -> None:
    # Above 50,000.00 yuan the disbursement chain has the court leader between chief and finance.
    job.arrived(
        case_id="case-1",
        court="粤0604",
        transfer_id="rail:stripe:pi_big",
        amount=6_000_000,
        arrived_at=ARRIVED,
    )
    days = [date(2026, 10, 16), date(2026, 10, 19), date(2026, 10, 20), date(2026, 10, 21)]
    for day in days:
        assert job.run(day).escalated == 1
        assert job.run(day).escalated == 0  # a re-run the same day escalates nothing
    escalations = sorted(
        job.store.escalations(LimitKind.NOTICE, "rail:stripe:pi_big"), key=lambda e: e.level
    )
    assert [e.post for e in escalations] == [CHIEF, LEADER, FINANCE, FINANCE]
    # The court's own holders first; a post the court names nobody for falls back to "*".
    assert [m.recipients[0].address for m in told.sent] == [
        "13800000604",
        "leader@court.example",
        "finance@court.example",
        "finance@court.example",
    ]
    assert all(m.case_id == "case-1" for m in told.sent)


def test_a_post_nobody_holds_is_recorded_but_nobody_is_told(
    aws: Any, queue: Queue, told: Told, clock: FixedClock
) -> None:
    calendar = WorkingCalendar(Schedules(), clock=clock, refresh_seconds=0)
    store = DeadlineStore(aws, wiring.table_name("OVERSIGHT_TABLE"))
    job = DeadlineService(store, calendar, Settings(), queue, notifier=told, clock=clock)
    queue.add("pi_3NabcdefGHIJ1234", 88_800)
    assert job.run(date(2026, 10, 12)).escalated == 1
    (escalation,) = store.escalations(LimitKind.CLAIM, "pi_3NabcdefGHIJ1234")
    assert (escalation.post, escalation.notified) == (CHIEF, ())
    assert told.sent == []


class Refunds:
    """The refunds capability's drafts, as far as the job uses them."""

    def __init__(self, *, court: bool = True) -> None:
        self.court = court
        self.drafts: dict[str, str] = {}
        self.asked = 0

    def draft_unclaimed(self, reference: str) -> str | None:
        self.asked += 1
        if not self.court:
            return None
        return self.drafts.setdefault(reference, f"unclaimed-{reference}")

    def returning(self, refund_id: str) -> bool:
        return refund_id in self.drafts.values()  # none is cancelled here


def job_with(aws: Any, queue: Queue, told: Told, clock: FixedClock, refunds: Refunds) -> Any:
    calendar = WorkingCalendar(Schedules(), clock=clock, refresh_seconds=0)
    store = DeadlineStore(aws, wiring.table_name("OVERSIGHT_TABLE"))
    return DeadlineService(
        store,
        calendar,
        Settings(escalation_contacts=CONTACTS),
        queue,
        notifier=told,
        clock=clock,
        refunds=lambda: refunds,
    )


def test_after_the_published_period_unclaimed_money_goes_to_one_refund_draft(
    aws: Any, queue: Queue, told: Told, clock: FixedClock
) -> None:
    refunds = Refunds()
    job = job_with(aws, queue, told, clock, refunds)
    queue.add("pi_3NabcdefGHIJ1234", 88_800)
    job.run(date(2026, 10, 12))
    assert job.run(date(2026, 11, 11)).refunds_drafted == 0  # still published
    ended = job.run(date(2026, 11, 12))
    assert (ended.refund_due, ended.refunds_drafted) == (1, 1)
    again = job.run(date(2026, 11, 12))
    assert (again.refund_due, again.refunds_drafted, again.escalated) == (0, 0, 0)
    (drafted,) = job.store.publications(PublicationStatus.REFUND_DRAFTED)
    assert drafted.refund_id == "unclaimed-pi_3NabcdefGHIJ1234"
    assert job.store.publications(PublicationStatus.REFUND_DUE) == []
    assert refunds.asked == 1
    # Handled: the claim clock closes and the next days escalate it no more.
    assert job.run(date(2026, 11, 13)).escalated == 0
    claim = job.store.clock(LimitKind.CLAIM, "pi_3NabcdefGHIJ1234")
    assert claim is not None
    assert claim.met_on == date(2026, 11, 12)


def test_money_that_cannot_be_drafted_yet_stays_due_and_is_tried_again(
    aws: Any, queue: Queue, told: Told, clock: FixedClock
) -> None:
    refunds = Refunds(court=False)
    job = job_with(aws, queue, told, clock, refunds)
    queue.add("pi_3NabcdefGHIJ1234", 88_800)
    job.run(date(2026, 10, 12))
    assert job.run(date(2026, 11, 12)).refunds_drafted == 0
    assert len(job.store.publications(PublicationStatus.REFUND_DUE)) == 1
    refunds.court = True  # a court now handles unidentified funds
    assert job.run(date(2026, 11, 13)).refunds_drafted == 1
    assert job.store.publications(PublicationStatus.REFUND_DUE) == []


def test_each_arrival_on_a_case_starts_one_notice_clock_that_telling_the_creditor_meets(
    job: DeadlineService,
) -> None:
    def arrive(transfer: str, at: datetime) -> Any:
        return job.arrived(
            case_id="case-1", court="粤0604", transfer_id=transfer, amount=500, arrived_at=at
        )

    first = arrive("rail:stripe:pi_1", ARRIVED)
    # 5 working days from Tuesday 29 September: 30 September, 8, 9, 10 (make-up Saturday), 12.
    assert first.due_on == date(2026, 10, 12)
    assert arrive("rail:stripe:pi_1", datetime(2026, 10, 9, tzinfo=UTC)) == first
    later = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
    arrive("cash-7", later)
    assert job.creditor_notified("case-1", at=datetime(2026, 10, 9, 2, 0, tzinfo=UTC)) == 1
    met = job.store.clock(LimitKind.NOTICE, "rail:stripe:pi_1")
    assert met is not None
    assert met.met_on == date(2026, 10, 9)
    waiting = job.store.clock(LimitKind.NOTICE, "cash-7")
    assert waiting is not None
    assert waiting.met_on is None  # arrived after the creditor was told
    assert job.creditor_notified("case-1", at=later) == 1
    assert job.creditor_notified("case-1", at=later) == 0


def test_a_claim_meets_the_claim_clock_and_starts_the_notice_clock_of_its_case(
    job: DeadlineService, queue: Queue
) -> None:
    queue.add("pi_3NabcdefGHIJ1234", 88_800)
    claim = job.unidentified_arrived(queue.items["pi_3NabcdefGHIJ1234"])
    assert (claim.due_on, claim.amount) == (DUE, 88_800)
    claimed_at = datetime(2026, 9, 30, 3, 0, tzinfo=UTC)
    notice = job.arrived(
        case_id="case-1",
        court="粤0604",
        transfer_id="claim:stripe:pi_3NabcdefGHIJ1234",
        amount=88_800,
        arrived_at=claimed_at,
        claimed_reference="pi_3NabcdefGHIJ1234",
    )
    assert notice.started_on == date(2026, 9, 30)
    met = job.store.clock(LimitKind.CLAIM, "pi_3NabcdefGHIJ1234")
    assert met is not None
    assert met.met_on == date(2026, 9, 30)


def test_the_daily_run_meets_a_notice_clock_the_creditor_was_told_about_by_then(
    job: DeadlineService, told: Told
) -> None:
    # Told on 9 October before the clock of money that arrived on 29 September was seen (the
    # case's index lags a write): the run reads the case's record and meets the clock.
    assert job.creditor_notified("case-1", at=datetime(2026, 10, 9, 2, 0, tzinfo=UTC)) == 0
    job.arrived(
        case_id="case-1", court="粤0604", transfer_id="cash-9", amount=500, arrived_at=ARRIVED
    )
    report = job.run(date(2026, 10, 14))
    assert (report.met, report.overdue, report.escalated) == (1, 0, 0)
    clock = job.store.clock(LimitKind.NOTICE, "cash-9")
    assert clock is not None
    assert clock.met_on == date(2026, 10, 9)
    assert told.sent == []
    # Money that arrives after the creditor was told waits for the next telling.
    job.arrived(
        case_id="case-1",
        court="粤0604",
        transfer_id="cash-10",
        amount=500,
        arrived_at=datetime(2026, 10, 12, 2, 0, tzinfo=UTC),
    )
    assert job.run(date(2026, 10, 20)).escalated == 1
