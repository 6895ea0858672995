"""The daily deadline job: start clocks for unidentified funds, read every open clock, escalate
what is overdue once a day, publish unclaimed money (公示) and mark it due for refund after the
published period."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from chalicelib.clock import Clock
from chalicelib.collection.models import ClaimStatus, UnidentifiedPayment
from chalicelib.deadlines.clocks import (
    ClockState,
    Deferral,
    ItemClock,
    LimitKind,
    read_clock,
    start_clock,
)
from chalicelib.deadlines.models import (
    Escalation,
    Publication,
    PublicationStatus,
    mask_reference,
)
from chalicelib.notifications import Channel, Notification, Notifier, Recipient
from chalicelib.workdays.models import court_date

if TYPE_CHECKING:
    from chalicelib.deadlines.store import DeadlineStore
    from chalicelib.settings import Settings
    from chalicelib.workdays.working_calendar import WorkingCalendar

log = logging.getLogger(__name__)

UNASSIGNED_COURT = "*"  # unidentified money belongs to no court until it is claimed
QUEUE_LIMIT = 1000  # open unidentified items read per run, oldest first


class UnidentifiedQueue(Protocol):
    """Collection's claim queue (its store answers both)."""

    def unidentified_queue(
        self, status: ClaimStatus, *, limit: int
    ) -> list[UnidentifiedPayment]: ...

    def unidentified(self, reference: str) -> UnidentifiedPayment | None: ...


@dataclass(frozen=True)
class DailyReport:
    day: date
    clocks_read: int
    near_due: int
    overdue: int
    deferred: int
    met: int
    escalated: int
    published: int
    refund_due: int
    calendar_alarm: str | None


class DeadlineService:
    def __init__(
        self,
        store: DeadlineStore,
        calendar: WorkingCalendar,
        settings: Settings,
        queue: UnidentifiedQueue,
        *,
        notifier: Notifier,
        clock: Clock,
    ) -> None:
        self.store = store
        self._calendar = calendar
        self._settings = settings
        self._queue = queue
        self._notifier = notifier
        self._clock = clock

    # -- what other capabilities call --------------------------------------------------------

    def track(
        self, kind: LimitKind, *, subject: str, court: str, arrived_at: datetime
    ) -> ItemClock:
        """Start an item's clock (once: tracking it again returns the clock it has)."""
        clock = start_clock(
            self._calendar,
            self._settings.limits_for(court),
            kind,
            subject=subject,
            court=court,
            arrived_at=arrived_at,
        )
        if self.store.start(clock):
            return clock
        return self.store.clock(kind, subject) or clock

    def met(self, kind: LimitKind, subject: str, *, on: date) -> ItemClock | None:
        clock = self.store.clock(kind, subject)
        if clock is None or clock.met_on is not None:
            return clock
        done = clock.model_copy(update={"met_on": on})
        self.store.save(done)
        return done

    def withdraw(self, kind: LimitKind, subject: str, *, on: date, reason: str) -> ItemClock | None:
        """The item ended without being met (a disbursement cancelled or expired): its clock
        leaves the open clocks, so nothing escalates it, and it does not count as met."""
        clock = self.store.clock(kind, subject)
        if clock is None or clock.met_on is not None or clock.withdrawn_on is not None:
            return clock
        withdrawn = clock.model_copy(update={"withdrawn_on": on, "withdrawn_reason": reason})
        self.store.save(withdrawn)
        return withdrawn

    def defer(self, kind: LimitKind, subject: str, deferral: Deferral) -> ItemClock | None:
        """Record an approved deferral (延缓发放); the approval itself is the caller's."""
        clock = self.store.clock(kind, subject)
        if clock is None:
            return None
        deferred = clock.model_copy(update={"deferral": deferral})
        self.store.save(deferred)
        return deferred

    # -- reading ---------------------------------------------------------------------------

    def clocks_today(
        self, *, court: str | None, state: ClockState | None, limit: int
    ) -> list[dict[str, object]]:
        """Open items with their clocks as they read today, most overdue first."""
        today = court_date(self._clock.now())
        rows: list[dict[str, object]] = []
        for clock in self.store.open_clocks():
            if court is not None and clock.court != court:
                continue
            reading = read_clock(
                clock,
                self._calendar,
                today=today,
                near_due=self._settings.limits_for(clock.court).near_due,
            )
            if state is not None and reading.state is not state:
                continue
            rows.append(
                {
                    "kind": clock.kind.value,
                    "subject": clock.subject,
                    "court": clock.court,
                    "started_on": clock.started_on.isoformat(),
                    "due_on": reading.due_on.isoformat(),
                    "state": reading.state.value,
                    "working_days_left": reading.working_days_left,
                    "provisional": reading.provisional,
                    "deferral": clock.deferral,
                }
            )
        rows.sort(key=lambda r: (int(str(r["working_days_left"])), str(r["subject"])))
        return rows[:limit]

    def published(self, status: PublicationStatus) -> list[Publication]:
        """Unclaimed money on the public page (or due for refund), oldest arrival first."""
        found = self.store.publications(status)
        found.sort(key=lambda p: (p.arrived_on, p.masked_reference))
        return found

    # -- the daily run -----------------------------------------------------------------------

    def run(self, today: date | None = None) -> DailyReport:
        today = today or court_date(self._clock.now())
        for item in self._queue.unidentified_queue(ClaimStatus.OPEN, limit=QUEUE_LIMIT):
            self.track(
                LimitKind.CLAIM,
                subject=item.reference,
                court=UNASSIGNED_COURT,
                arrived_at=item.received_at,
            )
        counts = dict.fromkeys(("read", "near", "over", "deferred", "met", "esc", "pub"), 0)
        for clock in list(self.store.open_clocks()):
            counts["read"] += 1
            if clock.kind is LimitKind.CLAIM and self._claimed(clock):
                counts["met"] += 1
                continue
            limits = self._settings.limits_for(clock.court)
            reading = read_clock(clock, self._calendar, today=today, near_due=limits.near_due)
            if reading.state is ClockState.NEAR_DUE:
                counts["near"] += 1
            elif reading.state is ClockState.DEFERRED:
                counts["deferred"] += 1
            elif reading.state is ClockState.OVERDUE:
                counts["over"] += 1
                counts["esc"] += self._escalate(
                    clock, today, reading.due_on, -reading.working_days_left
                )
                if clock.kind is LimitKind.CLAIM:
                    counts["pub"] += self._publish(clock, today)
        refund_due = self._end_publications(today)
        return DailyReport(
            day=today,
            clocks_read=counts["read"],
            near_due=counts["near"],
            overdue=counts["over"],
            deferred=counts["deferred"],
            met=counts["met"],
            escalated=counts["esc"],
            published=counts["pub"],
            refund_due=refund_due,
            calendar_alarm=self._calendar.status().alarm,
        )

    def _claimed(self, clock: ItemClock) -> bool:
        item = self._queue.unidentified(clock.subject)
        if item is None or item.status is not ClaimStatus.CLAIMED:
            return False
        claimed_on = court_date(item.claimed_at or self._clock.now())
        self.store.save(clock.model_copy(update={"met_on": claimed_on}))
        publication = self.store.publication(clock.subject)
        if publication is not None and publication.status is PublicationStatus.PUBLISHED:
            self.store.update_publication(
                publication.model_copy(update={"status": PublicationStatus.CLAIMED})
            )
        return True

    def _escalate(self, clock: ItemClock, today: date, due_on: date, late: int) -> int:
        level = len(self.store.escalations(clock.kind, clock.subject)) + 1
        contacts = self._contacts(clock.court, level)
        escalation = Escalation(
            kind=clock.kind,
            subject=clock.subject,
            court=clock.court,
            day=today,
            level=level,
            due_on=due_on,
            overdue_working_days=late,
            notified=contacts,
            at=self._clock.now(),
        )
        if not self.store.escalate_once(escalation):
            return 0  # escalated today already: a re-run of the job
        if contacts:
            self._notifier.notify(
                Notification(
                    key=f"deadline:{clock.kind.value}:{clock.subject}:{today.isoformat()}",
                    kind="deadline.overdue",
                    case_id=clock.subject,
                    recipients=tuple(
                        Recipient(Channel.EMAIL if "@" in a else Channel.SMS, a) for a in contacts
                    ),
                    subject=f"逾期提醒 / overdue: {clock.kind.value} {clock.subject}",
                    body=(
                        f"{clock.subject}（{clock.court}）{clock.kind.value} 应于 "
                        f"{due_on.isoformat()} 前完成，已逾期 {late} 个工作日"
                        f"（第 {level} 级督办）。"
                    ),
                )
            )
        else:
            log.warning("no escalation contact for court %s level %d", clock.court, level)
        return 1

    def _contacts(self, court: str, level: int) -> tuple[str, ...]:
        contacts = self._settings.escalation_contacts
        chain = contacts.get(court) or contacts.get(UNASSIGNED_COURT, [])
        if not chain:
            return ()
        return tuple(chain[min(level, len(chain)) - 1])

    def _publish(self, clock: ItemClock, today: date) -> int:
        item = self._queue.unidentified(clock.subject)
        if item is None:
            return 0
        days = self._settings.limits_for(clock.court).published_days
        return int(
            self.store.publish(
                Publication(
                    reference=item.reference,
                    arrived_on=court_date(item.received_at),
                    amount=item.amount,
                    currency=item.currency,
                    masked_reference=mask_reference(item.reference),
                    published_on=today,
                    published_until=today + timedelta(days=days),
                )
            )
        )

    def _end_publications(self, today: date) -> int:
        """Money still unclaimed after its published period is due for a refund to the payer.
        The refund workflow is not part of this build, so it is recorded as due and listed."""
        ended = 0
        for publication in self.store.publications(PublicationStatus.PUBLISHED):
            if publication.published_until >= today:
                continue
            item = self._queue.unidentified(publication.reference)
            if item is not None and item.status is ClaimStatus.CLAIMED:
                continue  # the clock's pass marks it claimed
            self.store.update_publication(
                publication.model_copy(
                    update={"status": PublicationStatus.REFUND_DUE, "refund_due_on": today}
                )
            )
            ended += 1
        return ended
