"""The daily deadline job: escalation once per overdue item per day, 公示 and refund due."""

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
    settings = Settings(
        escalation_contacts={"*": [["13800000001"], ["leader@court.example"]]},
    )
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
    assert told.sent[-1].recipients[0].address == "leader@court.example"  # the next level
    levels = [e.level for e in job.store.escalations(LimitKind.CLAIM, "pi_3NabcdefGHIJ1234")]
    assert sorted(levels) == [1, 2]


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
