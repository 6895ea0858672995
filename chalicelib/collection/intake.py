"""What the rail tells us, and what it never got to tell us: signed webhooks are verified,
acted on and recorded once; the sweeper asks the rail for succeeded payments no webhook
brought, and retries what failed to settle.

An event is a notice, not the truth: what moves money is the payment as the rail holds it when
we ask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from chalicelib.clock import Clock, isoformat
from chalicelib.collection.errors import PaymentConflict, RailUnavailable
from chalicelib.collection.models import (
    CHINA_TIME,
    MalformedEventRecord,
    Outcome,
    Payment,
    PaymentStatus,
    SweepReport,
)
from chalicelib.collection.notices import Notices
from chalicelib.collection.paying import Paying
from chalicelib.collection.rail import (
    MalformedEvent,
    PaymentRail,
    RailEvent,
    RailEventKind,
    RailPayment,
    RailStatus,
)
from chalicelib.collection.settlement import ReadAhead, Settling
from chalicelib.collection.store import CollectionStore, WebhookRead

log = logging.getLogger(__name__)

SWEEP_OVERLAP = timedelta(minutes=15)  # rail and our clocks disagree a little; re-reading is free
RAIL_EVENT_RETENTION = timedelta(days=30)  # Stripe lists events of the last 30 days only


class Intake:
    """Webhooks and the sweeper; safe to share, and safe to run twice at once."""

    def __init__(
        self,
        store: CollectionStore,
        rail: Callable[[], PaymentRail],
        clock: Clock,
        *,
        settling: Settling,
        paying: Paying,
        notices: Notices,
        sweep_lookback: timedelta,
    ) -> None:
        self._store = store
        self._rail = rail
        self._clock = clock
        self._settling = settling
        self._paying = paying
        self._notices = notices
        self._sweep_lookback = sweep_lookback  # Stripe retries a webhook for up to 3 days

    def ingest_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """Verify, act, and record the event with its outcome, exactly once: in the posting's
        own transaction when the event posts a payment, else in one conditional write of its
        own. A duplicate is acknowledged and does nothing. An event is recorded only once it is
        acted on: a crash before that answers no 2xx, so the rail delivers it again and the
        retry acts, which is safe because every action is idempotent. A verified event of the
        wrong shape is kept for review and acknowledged, never acted on."""
        try:
            event = self._rail().parse_event(raw_body, headers)
        except MalformedEvent as malformed:
            record = MalformedEventRecord(
                key=malformed.key,
                rail=self._rail().name,
                why=malformed.why[:500],
                received_at=self._clock.now(),
                body_start=raw_body[:2000].decode("utf-8", "replace"),
            )
            new = self._store.record_malformed_event(record)
            log.warning(
                "collection: %s event %s kept for review: %s", record.rail, record.key, record.why
            )
            outcome = Outcome.MALFORMED if new else Outcome.DUPLICATE
            return {"event": malformed.key, "outcome": outcome.value}
        received = isoformat(self._clock.now())
        outcome, status = self._act(event, received)
        if outcome is not Outcome.POSTED and outcome is not Outcome.DUPLICATE:
            # a posting recorded its event as it committed; anything else is recorded here
            at = (received, isoformat(self._clock.now()))
            if not self._store.record_event(
                self._rail().name, event.event_id, event.event_type, outcome.value, at
            ):
                return {"event": event.event_id, "outcome": Outcome.DUPLICATE.value}
        answer = {"event": event.event_id, "outcome": outcome.value}
        if status is not None:
            answer["status"] = status.value
        return answer

    def sweep(self) -> SweepReport:
        """Post every payment the rail says succeeded but that we have not posted (its webhook
        never came), and send notices left pending. Idempotent.

        It reads from where the last complete sweep started, less an overlap for clock skew
        (the first run reads the look-back window), never further back than the rail keeps its
        events. A payment that fails to settle is logged and recorded for retry, and later runs
        retry it by itself; only if that record cannot be written does the mark stay put."""
        started = self._clock.now()
        mark = self._store.sweep_mark(self._rail().name)
        # Without a mark (the first run), the look-back covers Stripe's webhook retries. With
        # one, read from it however old: after an outage longer than those retries, neither a
        # webhook nor a capped window would bring back the payments from its first days.
        since = started - self._sweep_lookback if mark is None else mark - SWEEP_OVERLAP
        since = max(since, started - RAIL_EVENT_RETENTION)
        outcomes: dict[Outcome, int] = {}
        examined = failed = unrecorded = 0
        retried = self._store.sweep_retries(self._rail().name)
        for reference in retried:
            try:
                outcome = self._settling.settle(self._rail().retrieve(reference)).outcome
            except Exception:
                log.exception("collection sweep: payment %s still not settled", reference)
                failed += 1
                continue
            self._store.settle_sweep_retry(self._rail().name, reference, self._clock.now())
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        for current in self._rail().succeeded_since(since):
            if current.reference in retried:
                continue  # tried above in this run
            examined += 1
            try:
                outcome = self._settling.settle(current).outcome
            except Exception:
                log.exception("collection sweep: payment %s not settled", current.reference)
                failed += 1
                unrecorded += not self._retry_later(current.reference, started)
                continue
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if unrecorded == 0:
            self._store.set_sweep_mark(self._rail().name, started)
        report = SweepReport(
            examined=examined,
            posted=outcomes.get(Outcome.POSTED, 0),
            unidentified=outcomes.get(Outcome.UNIDENTIFIED, 0),
            review=outcomes.get(Outcome.REVIEW, 0),
            failed=failed,
            notices_sent=self._notices.send_pending(),
        )
        log.info("collection sweep: %s", report)
        return report

    def _retry_later(self, reference: str, now: datetime) -> bool:
        try:
            self._store.add_sweep_retry(self._rail().name, reference, now)
        except Exception:
            log.exception("collection sweep: payment %s not recorded for retry", reference)
            return False
        return True

    def _act(self, event: RailEvent, received: str) -> tuple[Outcome, PaymentStatus | None]:
        """What the event made us do (``DUPLICATE``: it was recorded before, nothing done), and
        the status our payment follows to when it is not a success."""
        heard = event.payment
        if heard is None or event.kind == RailEventKind.OTHER:
            return Outcome.IGNORED, None  # recorded by its own conditional write, once
        # An event is a notice, not the truth: anyone holding the signing secret can say any
        # amount or metadata. What moves money is the payment as the rail holds it now.
        try:
            current = self._rail().retrieve(heard.reference)
        except RailUnavailable:
            # Without the rail's answer there are no keys for the one read; a duplicate is
            # still told by its event id alone, so a Stripe outage does not turn Stripe's own
            # retries of an event we recorded into errors. A new event answers 503: Stripe
            # delivers it again.
            state = self._store.event_state(self._rail().name, event.event_id)
            if state is not None and state != "received":
                return Outcome.DUPLICATE, None
            raise
        except PaymentConflict:
            log.warning(
                "collection: event %s names %s, unknown to the rail",
                event.event_id,
                heard.reference,
            )
            return Outcome.UNKNOWN_PAYMENT, None
        read, ahead = self._read(event, current)
        if read.event_state is not None and read.event_state != "received":
            return Outcome.DUPLICATE, None  # "received" was left by a crash: act
        return self._act_on(event, current, read.payment, received, ahead)

    def _read(self, event: RailEvent, current: RailPayment) -> tuple[WebhookRead, ReadAhead | None]:
        """One read: whether this event was recorded, the payment the rail's metadata names,
        and, for a succeeded payment whose metadata names its case and court, that case's
        standing, the court's receipt counter and the case itself (for its creditors'
        notice). Settling checks the payment is of that case before using them."""
        year = self._clock.now().astimezone(CHINA_TIME).year
        case_id, court = current.case_id, current.court_code
        ahead = current.status == RailStatus.SUCCEEDED and bool(case_id and court)
        read = self._store.webhook_read(
            self._rail().name,
            event.event_id,
            current.payment_id,
            case=(case_id, court, year) if ahead and case_id and court else None,
            other=self._notices.case_read(case_id) if ahead and case_id else None,
        )
        if read.settlement is None or read.year is None:
            return read, None
        case = self._notices.case_of(read.other) if read.other is not None else None
        return read, ReadAhead(read.settlement, read.year, case)

    def _act_on(
        self,
        event: RailEvent,
        current: RailPayment,
        found: tuple[Payment, str] | None,
        received: str,
        ahead: ReadAhead | None,
    ) -> tuple[Outcome, PaymentStatus | None]:
        """A new event acted on: the rail's payment, and ours it names, if any."""
        if current.status == RailStatus.SUCCEEDED:
            recording = self._store.posted_event_item(
                self._rail().name,
                event.event_id,
                event.event_type,
                (received, isoformat(self._clock.now())),
            )
            settled = self._settling.settle_found(current, found, finishing=recording, ahead=ahead)
            return settled.outcome, None
        if found is None:
            return Outcome.UNKNOWN_PAYMENT, None
        if found[0].rail_reference not in (None, current.reference):
            return Outcome.OTHER_REFERENCE, None  # only the intent our payment holds may move it
        return Outcome.FOLLOWED, self._paying.follow(found[0], current).status
