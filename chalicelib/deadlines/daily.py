"""The daily deadline job: start clocks for unidentified funds, read every open clock, escalate
what is overdue up its approval chain once a day, publish unclaimed money (公示) and, after the
published period, draft its refund to the payer. Collection starts and stops the clocks of money
arriving on a case (``arrived``, ``creditor_notified``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.answers import AnswerBody
from chalicelib.approvals import default_chains
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
from chalicelib.deadlines.escalation import Escalator
from chalicelib.deadlines.models import (
    Publication,
    PublicationStatus,
    mask_reference,
)
from chalicelib.notifications import Notifier
from chalicelib.workdays.models import court_date

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.approvals import ChainBook
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


class UnclaimedRefunds(Protocol):
    """The refunds capability's drafts: a refund draft returning unclaimed money to its payer."""

    def draft_unclaimed(self, reference: str) -> str | None:
        """The id of the refund draft for it (made now, or made before); None if none can be
        made (no court handles unidentified funds, or nothing is left to refund)."""
        ...

    def returning(self, refund_id: str) -> bool:
        """Whether that refund still returns (or returned) the money: False once it was
        cancelled or rejected."""
        ...


class DailyReport(AnswerBody):
    """What the daily job did: clocks read and how they stand, escalations, publications."""

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
    refunds_drafted: int = 0


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
        chains: ChainBook | None = None,
        refunds: Callable[[], UnclaimedRefunds] | None = None,
    ) -> None:
        self.store = store
        self._calendar = calendar
        self._settings = settings
        self._queue = queue
        self._clock = clock
        self._refunds = refunds  # built when first needed: most runs draft nothing
        self._escalator = Escalator(
            store,
            chains or default_chains(),
            settings.escalation_contacts,
            notifier=notifier,
            clock=clock,
            unassigned_court=settings.unidentified_funds_court,
        )

    # -- what other capabilities call --------------------------------------------------------

    def track(
        self,
        kind: LimitKind,
        *,
        subject: str,
        court: str,
        arrived_at: datetime,
        case_id: str | None = None,
        amount: int | None = None,
    ) -> ItemClock:
        """Start an item's clock (once: tracking it again returns the clock it has)."""
        clock = start_clock(
            self._calendar,
            self._settings.limits_for(court),
            kind,
            subject=subject,
            court=court,
            arrived_at=arrived_at,
            case_id=case_id,
            amount=amount,
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

    def arrived(
        self,
        *,
        case_id: str,
        court: str,
        transfer_id: str,
        amount: int,
        arrived_at: datetime,
        claimed_reference: str | None = None,
    ) -> ItemClock:
        """Money counted on a case (an online payment, counter cash, a claim of unidentified
        money): the creditor must be told within the court's notice limit. One clock per
        arrival, keyed by the ledger transfer that brought it, so telling us again starts
        nothing new. A claim also meets the claim clock of the money it placed."""
        if claimed_reference is not None:
            self._claim_met(claimed_reference, court_date(arrived_at))
        return self.track(
            LimitKind.NOTICE,
            subject=transfer_id,
            court=court,
            arrived_at=arrived_at,
            case_id=case_id,
            amount=amount,
        )

    def arrival_clock_item(
        self,
        *,
        case_id: str,
        court: str,
        transfer_id: str,
        amount: int,
        arrived_at: datetime,
    ) -> dict[str, Any]:
        """The notice clock of money counted on a case, as one item of the transaction that
        counts it: the count and its clock commit together or not at all. A clock that exists
        for the transfer is kept."""
        clock = start_clock(
            self._calendar,
            self._settings.limits_for(court),
            LimitKind.NOTICE,
            subject=transfer_id,
            court=court,
            arrived_at=arrived_at,
            case_id=case_id,
            amount=amount,
        )
        return self.store.start_item(clock)

    def claimed(self, reference: str, *, at: datetime) -> None:
        """Unidentified money was claimed to a case: its claim clock is met."""
        self._claim_met(reference, court_date(at))

    def unidentified_arrived(self, item: UnidentifiedPayment) -> ItemClock:
        """Money nobody could place (不明款): the claim clock runs from its arrival."""
        return self.track(
            LimitKind.CLAIM,
            subject=item.reference,
            court=UNASSIGNED_COURT,
            arrived_at=item.received_at,
            amount=item.amount,
        )

    def creditor_notified(self, case_id: str, *, at: datetime) -> int:
        """The creditor was told of the money on the case: every arrival on the case until
        then has met its notice clock. How many clocks this met."""
        on = court_date(at)
        # Kept by case and read by key: the index below may not show a clock started moments
        # ago yet, and the daily run meets such a clock from this record.
        self.store.creditor_told(case_id, on)
        met = 0
        for clock in self.store.clocks_of_case(LimitKind.NOTICE, case_id):
            if clock.met_on is None and clock.started_on <= on:
                self.store.save(clock.model_copy(update={"met_on": on}))
                met += 1
        return met

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
        self,
        *,
        court: str | None,
        state: ClockState | None,
        limit: int,
        seen: Callable[[str], bool] = lambda court: True,
    ) -> list[dict[str, object]]:
        """Open items with their clocks as they read today, most overdue first: those of
        ``court`` (or of every court ``seen`` lets the reader see), and the unidentified money
        that belongs to no court yet."""
        today = court_date(self._clock.now())
        rows: list[dict[str, object]] = []
        for clock in self.store.open_clocks():
            if court is not None and clock.court != court:
                continue
            if clock.court != UNASSIGNED_COURT and not seen(clock.court):
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
        # Collection starts these at arrival; the run starts any it could not (a crash between
        # the money and its clock), from the arrival time, so the due date is the same.
        for item in self._queue.unidentified_queue(ClaimStatus.OPEN, limit=QUEUE_LIMIT):
            self.unidentified_arrived(item)
        counts = dict.fromkeys(("read", "near", "over", "deferred", "met", "esc", "pub"), 0)
        for clock in list(self.store.open_clocks()):
            counts["read"] += 1
            held = self._claim_held(clock) if clock.kind is LimitKind.CLAIM else None
            if held is ClaimStatus.CLAIMED:
                counts["met"] += 1
                continue
            if held is ClaimStatus.REFUNDED:
                counts["deferred"] += 1  # a refund returns it: no warning, no publication
                continue
            if clock.kind is LimitKind.NOTICE and self._creditor_told(clock):
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
                counts["esc"] += self._escalator.escalate(
                    clock, today, reading.due_on, -reading.working_days_left
                )
                if clock.kind is LimitKind.CLAIM:
                    counts["pub"] += self._publish(clock, today)
        self._reopen_publications(today)
        refund_due = self._end_publications(today)
        drafted = self._draft_refunds(today)
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
            refunds_drafted=drafted,
        )

    def _claim_held(self, clock: ItemClock) -> ClaimStatus | None:
        """Where the money of a claim clock stands. Claimed: the clock is met. Taken out of the
        queue by an approved refund: the clock waits (it runs again if that refund is
        cancelled) and the money leaves the public page, marked with the refund returning it."""
        item = self._queue.unidentified(clock.subject)
        if item is None:
            return None
        if item.status is ClaimStatus.CLAIMED:
            self._claim_met(clock.subject, court_date(item.claimed_at or self._clock.now()))
        elif item.status is ClaimStatus.REFUNDED:
            publication = self.store.publication(clock.subject)
            if publication is not None and publication.status in (
                PublicationStatus.PUBLISHED,
                PublicationStatus.REFUND_DUE,
            ):
                self.store.update_publication(
                    publication.model_copy(
                        update={
                            "status": PublicationStatus.REFUND_DRAFTED,
                            "refund_id": item.refund_id,
                        }
                    )
                )
        return item.status

    def _creditor_told(self, clock: ItemClock) -> bool:
        told_on = self.store.creditor_told_on(clock.case_id) if clock.case_id else None
        if told_on is None or told_on < clock.started_on:
            return False
        self._close(LimitKind.NOTICE, clock.subject, told_on)
        return True

    def _claim_met(self, reference: str, on: date) -> None:
        """Claimed (认领): the claim clock is met and the money leaves the public page."""
        self._close(LimitKind.CLAIM, reference, on)
        publication = self.store.publication(reference)
        if publication is not None and publication.status is PublicationStatus.PUBLISHED:
            self.store.update_publication(
                publication.model_copy(update={"status": PublicationStatus.CLAIMED})
            )

    def _close(self, kind: LimitKind, subject: str, on: date) -> None:
        clock = self.store.clock(kind, subject)
        if clock is not None and clock.met_on is None:
            self.store.save(clock.model_copy(update={"met_on": on}))

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

    def _reopen_publications(self, today: date) -> None:
        """Money whose refund was cancelled or rejected is open for a claim again: it goes back
        to the public page while its published period runs, and is due for a refund again (drafted
        anew this run) once it ended. Money a later refund took is marked with that refund."""
        if self._refunds is None:
            return
        for publication in self.store.publications(PublicationStatus.REFUND_DRAFTED):
            item = self._queue.unidentified(publication.reference)
            if item is None or item.claim_transfer_id is not None:
                continue  # claimed: the clock's pass marks it
            if item.status is ClaimStatus.REFUNDED and item.refund_id != publication.refund_id:
                self.store.update_publication(
                    publication.model_copy(update={"refund_id": item.refund_id})
                )
                continue
            if item.status is not ClaimStatus.OPEN or (
                publication.refund_id is not None
                and self._refunds().returning(publication.refund_id)
            ):
                continue
            due = publication.published_until < today
            log.info("refund of %s ended unpaid; it is open again", publication.masked_reference)
            self.store.update_publication(
                publication.model_copy(
                    update={
                        "status": PublicationStatus.REFUND_DUE
                        if due
                        else PublicationStatus.PUBLISHED,
                        "refund_id": None,
                        "refund_due_on": (publication.refund_due_on or today) if due else None,
                    }
                )
            )

    def _end_publications(self, today: date) -> int:
        """Money still unclaimed after its published period is due for a refund to the payer."""
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

    def _draft_refunds(self, today: date) -> int:
        """A refund draft for each publication due for refund. The draft is keyed by the
        payment's reference, so a re-run (or a run after a crash between the draft and this
        record) finds the same draft and makes no second one. One that cannot be drafted yet
        (no court handles unidentified funds) stays due and is tried again the next day. Once
        drafted, the money is handled: its claim clock closes and escalates no more."""
        if self._refunds is None:
            return 0
        drafted = 0
        for publication in self.store.publications(PublicationStatus.REFUND_DUE):
            refund_id = self._refunds().draft_unclaimed(publication.reference)
            if refund_id is None:
                log.warning("no refund drafted for unclaimed %s", publication.masked_reference)
                continue
            self.store.update_publication(
                publication.model_copy(
                    update={"status": PublicationStatus.REFUND_DRAFTED, "refund_id": refund_id}
                )
            )
            self._close(LimitKind.CLAIM, publication.reference, today)
            drafted += 1
        return drafted
