"""Paying an approved refund back, crash-safe: reserve, send, hear the answer, post or void.

Each step is recorded before the next outside call, so a crash between any two is finished by
the sweeper and nothing is paid twice or lost:

    approved     the money is held (same transaction as the approval)
    reserve      ledger pending transfer ``refund-{id}-{n}``: source account -> SYS-REFUNDS
    processing   the rail's idempotency key recorded, then the rail called with it
    the answer   succeeded: the pending transfer posted under ``refund-paid:{rail refund}``,
                 then the refund paid; failed: voided, the refund failed, the hold released

Counter cash goes back by bank: finance records the bank transfer (processing) and a second
person confirms it (posted under ``refund-bank:{bank reference}``, paid) or reports it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import Clock, isoformat
from chalicelib.identity import Principal
from chalicelib.ledger import (
    InsufficientFunds,
    LedgerService,
    postings,
)
from chalicelib.refunds.changes import SWEEPER, moved, require, with_attempt
from chalicelib.refunds.errors import RefundChanged, RefundRailUnavailable, SamePersonConfirms
from chalicelib.refunds.models import Refund, RefundState, SourceKind, bank_reference_key
from chalicelib.refunds.store import RefundStore

if TYPE_CHECKING:
    from chalicelib.collection import PaymentRail, RailRefund

log = logging.getLogger(__name__)

BY_RAIL = frozenset({SourceKind.ONLINE, SourceKind.UNIDENTIFIED})
SWEEP_BATCH = 100
# A Lambda invocation runs 15 minutes at most: past that since a cancellation, no step that read
# the refund approved before it is still running, so none can reserve its money any more.
STALE_STEP_BOUND = timedelta(minutes=15)


class Payback:
    def __init__(
        self,
        store: RefundStore,
        clock: Clock,
        *,
        ledger: LedgerService,
        rail: Callable[[], PaymentRail],
        tell_payer: Callable[[Refund], None],
    ) -> None:
        self.store = store
        self._clock = clock
        self._ledger = ledger
        self._rail = rail
        self._tell_payer = tell_payer

    # -- the steps ---------------------------------------------------------------------------

    def start(self, refund: Refund) -> Refund:
        """Reserve an approved refund's money and, for money that came through the rail, send
        it back. A rail that does not answer leaves the refund to the sweeper."""
        reserved = self.reserve(refund)
        if reserved.state != RefundState.APPROVED:
            return reserved
        if refund.source.kind not in BY_RAIL:
            # read before a cancellation whose void found nothing yet: release what was just
            # reserved (the sweep's void-queue entry covers a crash right here)
            return self._unless_cancelled(reserved)
        try:
            return self.send(reserved)
        except RefundRailUnavailable:
            log.warning("refund %s: the rail did not answer; the sweeper retries", refund.refund_id)
        except Exception:
            # the decision is committed; what failed after it is a step the sweeper finishes
            log.exception("refund %s: stopped after approval; swept later", refund.refund_id)
        return self._unless_cancelled(reserved)

    def _unless_cancelled(self, refund: Refund) -> Refund:
        """The refund as stored after a step lost its race; if a cancellation won, the
        reservation this step may have made just before is voided too, never left holding."""
        current = self.store.get(refund.refund_id) or refund
        if current.state == RefundState.CANCELLED:
            self.finish_void(current)
        return current

    def reserve(self, refund: Refund) -> Refund:
        """The pending ledger transfer (once per attempt: a replay returns the original). If
        the account no longer holds the money, the attempt fails and the hold is released."""
        require(refund, RefundState.APPROVED, RefundState.PROCESSING)
        attempt = refund.attempts[-1]
        try:
            self._ledger.transfer(
                postings.refund_reservation(
                    id=attempt.reservation_id,
                    account=refund.source.ledger_account,
                    amount=refund.amount,
                    currency=refund.currency,
                    requested_by=SWEEPER.subject,
                    refund_id=refund.refund_id,
                    attempt=attempt.number,
                    source=f"{refund.source.kind.value}:{refund.source.reference}",
                )
            )
        except InsufficientFunds:
            return self._fail(
                refund,
                "the account no longer holds this money; nothing was reserved",
                void=False,
            )
        return refund

    def send(self, refund: Refund) -> Refund:
        """Record the idempotency key, then ask the rail; then act on its answer."""
        require(refund, RefundState.APPROVED)
        attempt = refund.attempts[-1]
        key = f"refund-{refund.refund_id}-{attempt.number}"
        sending = moved(
            refund,
            RefundState.PROCESSING,
            by=SWEEPER,
            at=self._clock.now(),
            attempts=with_attempt(refund, rail_key=key, sent_at=self._clock.now()),
        )
        self.store.commit([self.store.put(sending, seen_version=refund.version)])
        return self._ask_rail(sending)

    def _ask_rail(self, refund: Refund) -> Refund:
        from chalicelib.collection import PaymentConflict, RailUnavailable

        attempt = refund.attempts[-1]
        assert attempt.rail_key is not None  # noqa: S101 - recorded by send() before the call
        assert refund.source.rail_reference is not None  # noqa: S101 - rail sources carry it
        try:
            answer = self._rail().refund(
                refund.source.rail_reference,
                key=attempt.rail_key,
                amount=refund.amount,
                currency=refund.currency,
            )
        except RailUnavailable as error:
            raise RefundRailUnavailable(str(error)) from error
        except PaymentConflict as refused:
            return self._fail(refund, f"the payment service refused: {refused.detail}")
        return self.apply(refund, answer)

    def apply(self, refund: Refund, answer: RailRefund) -> Refund:
        """The rail's answer, acted on exactly once: the refund moves only from processing,
        and the ledger posts or voids the reservation under ids that replay."""
        from chalicelib.collection import RefundStatus

        attempt = refund.attempts[-1] if refund.attempts else None
        if refund.state != RefundState.PROCESSING or attempt is None:
            return refund
        if answer.key != attempt.rail_key or answer.amount != refund.amount:
            log.error(
                "refund %s: the rail's refund %s does not match attempt %s; nothing done",
                refund.refund_id,
                answer.reference,
                attempt.number,
            )
            return refund
        if answer.status == RefundStatus.PENDING:
            if attempt.rail_reference == answer.reference:
                return refund
            noted = refund.model_copy(
                update={
                    "version": refund.version + 1,
                    "attempts": with_attempt(refund, rail_reference=answer.reference),
                }
            )
            self.store.commit([self.store.put(noted, seen_version=refund.version)])
            return noted
        if answer.status == RefundStatus.SUCCEEDED:
            self._ledger.post_pending(
                attempt.reservation_id,
                id=f"refund-paid:{answer.reference}",
                requested_by=SWEEPER.subject,
            )
            return self._paid(refund, rail_reference=answer.reference)
        return self._fail(
            refund,
            f"the payment service reports the refund {answer.status.value}"
            + (f": {answer.failure_reason}" if answer.failure_reason else ""),
            rail_reference=answer.reference,
        )

    # -- counter cash, back by bank ----------------------------------------------------------

    def record_bank_payment(self, refund: Refund, *, bank_reference: str, by: Principal) -> Refund:
        require(refund, RefundState.APPROVED)
        if refund.source.kind != SourceKind.COUNTER_CASH:
            from chalicelib.refunds.errors import RefundStateConflict

            raise RefundStateConflict("only counter cash is paid back by bank; this goes by rail")
        bank_reference = bank_reference_key(bank_reference)
        reserved = self.reserve(refund)
        if reserved.state != RefundState.APPROVED:
            return reserved
        now = self._clock.now()
        after = moved(
            reserved,
            RefundState.PROCESSING,
            by=by,
            at=now,
            note=f"bank transfer {bank_reference}",
            attempts=with_attempt(
                reserved, bank_reference=bank_reference, recorded_by=by.subject, sent_at=now
            ),
        )
        try:
            self.store.commit(
                [
                    self.store.put(after, seen_version=reserved.version),
                    self.store.bank_reference(bank_reference, refund.refund_id),
                ]
            )
        except RefundChanged:
            self._unless_cancelled(reserved)
            raise
        return after

    def confirm_bank_payment(self, refund: Refund, *, by: Principal) -> Refund:
        """A second person confirms the bank transfer; the reservation is posted."""
        require(refund, RefundState.PROCESSING)
        attempt = refund.attempts[-1]
        if attempt.bank_reference is None:
            from chalicelib.refunds.errors import RefundStateConflict

            raise RefundStateConflict("this refund goes by rail; the rail confirms it")
        if attempt.recorded_by == by.subject:
            raise SamePersonConfirms("you recorded this bank transfer; another person confirms it")
        self._ledger.post_pending(
            attempt.reservation_id,
            id=f"refund-bank:{attempt.bank_reference}",
            requested_by=by.subject,
        )
        return self._paid(refund, by=by, confirmed_by=by.subject)

    def bank_payment_failed(self, refund: Refund, *, by: Principal, reason: str) -> Refund:
        require(refund, RefundState.PROCESSING)
        if refund.attempts[-1].bank_reference is None:
            from chalicelib.refunds.errors import RefundStateConflict

            raise RefundStateConflict("this refund goes by rail; the rail reports its failure")
        return self._fail(refund, reason, by=by)

    # -- endings -----------------------------------------------------------------------------

    def void_reservation(self, refund: Refund) -> bool:
        """Release the current attempt's reservation (once: a replay returns the original).
        False when there is none yet: a step that read the refund before its cancellation
        may still make it."""
        from chalicelib.ledger import PendingNotActive, TransferNotFound

        attempt = refund.attempts[-1]
        try:
            self._ledger.void_pending(
                attempt.reservation_id,
                id=f"{attempt.reservation_id}:void",
                requested_by=SWEEPER.subject,
            )
        except TransferNotFound:
            return False  # not reserved (yet): nothing to release now
        except PendingNotActive:
            voided = self._ledger.get_transfer(attempt.reservation_id)
            if voided.state is not None and voided.state.value in ("voided", "expired"):
                return True
            raise
        return True

    def finish_void(self, refund: Refund) -> bool:
        """A cancelled refund's reservation voided, and its entry in the void queue done: True.
        With no reservation found, the entry stays (False) until no step that read the refund
        approved can still be running, so a reservation such a step makes is voided too
        (refund reservations have no ledger timeout)."""
        released = self.void_reservation(refund)
        if not released and self._clock.now() - refund.updated_at < STALE_STEP_BOUND:
            return False
        self.store.void_done(refund.refund_id)
        return True

    def _paid(
        self,
        refund: Refund,
        *,
        by: Principal = SWEEPER,
        rail_reference: str | None = None,
        confirmed_by: str | None = None,
    ) -> Refund:
        now = self._clock.now()
        changes: dict[str, object] = {"finished_at": now}
        if rail_reference:
            changes["rail_reference"] = rail_reference
        if confirmed_by:
            changes["confirmed_by"] = confirmed_by
        after = moved(
            refund, RefundState.PAID, by=by, at=now, attempts=with_attempt(refund, **changes)
        )
        self.store.commit([self.store.put(after, seen_version=refund.version)])
        self._tell(after)
        return after

    def _fail(
        self,
        refund: Refund,
        why: str,
        *,
        by: Principal = SWEEPER,
        void: bool = True,
        rail_reference: str | None = None,
    ) -> Refund:
        if void:
            self.void_reservation(refund)
        now = self._clock.now()
        changes: dict[str, object] = {"finished_at": now, "failure": why}
        if rail_reference:
            changes["rail_reference"] = rail_reference
        after = moved(
            refund,
            RefundState.FAILED,
            by=by,
            at=now,
            note=why,
            attempts=with_attempt(refund, **changes),
        )
        self.store.commit(
            [
                self.store.put(after, seen_version=refund.version),
                self.store.release(refund.source, refund.amount),
            ]
        )
        self._tell(after)
        return after

    def _tell(self, refund: Refund) -> None:
        try:
            self._tell_payer(refund)
        except Exception:
            log.exception("refund %s: the payer was not told", refund.refund_id)

    # -- the sweeper and the rail's events ---------------------------------------------------

    def sweep(self) -> dict[str, int]:
        """Finish what a crash or a silent rail left half-way; safe to run any number of times."""
        report = dict.fromkeys(
            ("voided", "void_waiting", "reserved", "sent", "finished", "waiting", "errors"), 0
        )
        for cancelled in self.store.voids_due(limit=SWEEP_BATCH):
            try:
                report["voided" if self.finish_void(cancelled) else "void_waiting"] += 1
            except Exception:
                log.exception("refund %s: the sweeper could not void it", cancelled.refund_id)
                report["errors"] += 1
        for refund in self.store.all_in_state(RefundState.APPROVED, limit=SWEEP_BATCH):
            try:
                done = self.start(refund)
                report["sent" if done.state != RefundState.APPROVED else "reserved"] += 1
            except Exception:
                log.exception("refund %s: the sweeper could not start it", refund.refund_id)
                report["errors"] += 1
        for refund in self.store.all_in_state(RefundState.PROCESSING, limit=SWEEP_BATCH):
            if refund.source.kind not in BY_RAIL:
                continue  # a bank transfer waits for a person to confirm it
            try:
                done = self.follow(refund)
                report["finished" if done.state != RefundState.PROCESSING else "waiting"] += 1
            except Exception:
                log.exception("refund %s: the sweeper could not follow it", refund.refund_id)
                report["errors"] += 1
        return report

    def follow(self, refund: Refund) -> Refund:
        """Ask the rail where a refund in flight stands: by its reference if we have it, else
        by sending again with the same key (the rail answers with the refund it made)."""
        self.reserve(refund)  # a crash may have come between the reservation and the send
        attempt = refund.attempts[-1]
        if attempt.rail_reference is None:
            return self._ask_rail(refund)
        return self.apply(refund, self._rail().retrieve_refund(attempt.rail_reference))

    def ingest_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """A refund event is a notice: the refund is read back from the rail before acting."""
        rail = self._rail()
        event = rail.parse_refund_event(raw_body, headers)
        if not self.store.record_event(
            rail.name, event.event_id, event.event_type, isoformat(self._clock.now())
        ):
            return {"event": event.event_id, "outcome": "duplicate"}
        outcome = "ignored"
        if event.refund is not None and event.refund.key:
            refund_id = _refund_id_of(event.refund.key)
            refund = self.store.get(refund_id) if refund_id else None
            if refund is not None and refund.attempts:
                current = rail.retrieve_refund(event.refund.reference)
                after = self.apply(refund, current)
                outcome = after.state.value if after is not refund else "unchanged"
        self.store.finish_event(rail.name, event.event_id, outcome)
        return {"event": event.event_id, "outcome": outcome}


def _refund_id_of(key: str) -> str | None:
    """``refund-{refund id}-{attempt}`` -> the refund id."""
    body, _, number = key.removeprefix("refund-").rpartition("-")
    return body if key.startswith("refund-") and number.isdigit() and body else None
