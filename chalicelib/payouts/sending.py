"""The money leaves: release, send, settle, and the sweeper that finishes what a crash left.

Crash-safe in steps, each recorded before the next outside call:

1. ``RELEASED``: a valid release is recorded (with the face grant or claim marked used in the
   same transaction);
2. ``SENDING``: the rail's idempotency key is about to be used;
3. ``SENT``: the rail answered with its payout reference;
4. ``PAID`` (the ledger posts the reservation), ``FAILED`` or ``RETURNED`` (the ledger gives the
   money back to the case account), each under a ledger id derived from the rail's reference.

``send`` is the one place that calls the rail, and it calls ``check_release`` first. After a
crash in ``SENDING`` it asks the rail for a payout under the key before sending again (the key
makes a second send the same payout anyway). Once the reservation's time is over, an attempt
in ``SENDING`` the rail shows nothing for is never failed by the system (a reissue could pay
twice): it is held for a person with its money reserved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from chalicelib.approvals import ApprovalStatus, ChainKind, Decision
from chalicelib.clock import Clock, parse_iso
from chalicelib.identity import Principal
from chalicelib.ledger import AlreadyReversed, LedgerService
from chalicelib.payouts import claims
from chalicelib.payouts.changes import ENDED_STATES, RELEASE_MARGIN, advance
from chalicelib.payouts.errors import (
    ClaimNotFound,
    FaceCheckUnavailable,
    GrantRefused,
    PayoutRailRefused,
    PayoutRailUnavailable,
    StateRefused,
    TooManyAttempts,
)
from chalicelib.payouts.models import (
    Binding,
    Disbursement,
    DisbursementState,
    Release,
    ReleaseKind,
    SweepReport,
)
from chalicelib.payouts.rail import PayoutDestination, PayoutRail, PayoutStatus, RailPayout
from chalicelib.payouts.release import FaceGrants, check_release
from chalicelib.payouts.reserving import LEDGER_ACTOR
from chalicelib.payouts.store import ExtraItemRefused, PayoutStore
from chalicelib.payouts.workflow import DisbursementWorkflow
from chalicelib.settings import Settings

log = logging.getLogger(__name__)
S = DisbursementState
RAIL_ACTOR = "payout rail"
HELD_FOR_REVIEW = "held for a person: the reservation ran out while sending"


class PayoutSender:
    def __init__(
        self,
        workflow: DisbursementWorkflow,
        *,
        rail: Callable[[], PayoutRail],
        ledger: LedgerService,
        grants: FaceGrants | None,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._workflow = workflow
        self._rail = rail  # built on first use: a route that sends nothing never loads Stripe
        self._ledger = ledger
        self._grants = grants
        self._clock = clock
        self._settings = settings

    @property
    def store(self) -> PayoutStore:
        return self._workflow.store

    # -- release -----------------------------------------------------------------------------

    def decide_staff_release(
        self, disbursement_id: str, *, by: Principal, approve: bool, reason: str | None = None
    ) -> Disbursement:
        """A step of the staff-release chain. Its last approval is the second person: the
        release is recorded with it, and the money is sent."""
        d = self._workflow.get(disbursement_id)
        self._releasable(d)
        request = self._workflow.waiting_staff_release(d, by=by)
        planned = self._workflow.approvals.plan_decision(
            request.approval_id, Decision.APPROVE if approve else Decision.REJECT, by=by,
            text=None if approve else reason,
        )  # fmt: skip
        now = self._clock.now()
        status = planned.approval.status
        if status == ApprovalStatus.REJECTED:
            refused = advance(d, None, at=now, actor=by.actor, action="staff release refused",
                              detail=reason, staff_release_request=None)  # fmt: skip
            return self._workflow.commit(planned, d, refused)
        if status != ApprovalStatus.APPROVED:
            step = advance(d, None, at=now, actor=by.actor, action="staff release step approved")
            return self._workflow.commit(planned, d, step)
        release = Release(
            kind=ReleaseKind.STAFF, attempt=d.attempt, at=now, released_by=by.subject,
            requested_by=request.subject, reason=request.reason,
        )  # fmt: skip
        released = advance(
            d, S.RELEASED, at=now, actor=by.actor, release=release,
            action="released by staff without the creditor's face check",
            detail=f"requested by {request.actor}: {request.reason}",
        )  # fmt: skip
        return self.send(self._workflow.commit(planned, d, released))

    def claim(self, code: str, *, client: str) -> Disbursement:
        """The disbursement a claim code opens. A client with too many failed lookups in the
        window is refused before anything is looked up."""
        settings = self._settings
        window = claims.window_of(self._clock.now(), settings.claim_window_minutes)
        if self.store.failures(client, window) >= settings.claim_failures_allowed:
            raise TooManyAttempts(
                f"too many invalid claim links; try again in {settings.claim_window_minutes} "
                "minutes"
            )
        try:
            return self._claimed(code)
        except ClaimNotFound:
            self.store.count_failure(client, window)
            raise

    def _claimed(self, code: str) -> Disbursement:
        digest = claims.code_hash(code)
        found = self.store.claim(digest)
        if found is None:
            raise ClaimNotFound("this claim link is not valid; ask the court for a new one")
        disbursement_id, _attempt, expires_at, _used = found
        d = self._workflow.get(disbursement_id)
        if d.claim_ref != digest:
            raise ClaimNotFound("this claim link was replaced by a newer one; use the newest SMS")
        if parse_iso(expires_at) < self._clock.now() and d.state in (S.APPROVED, S.DEFERRED):
            raise ClaimNotFound("this claim link has expired; ask the court for a new one")
        return d

    def release_by_face(self, code: str, grant: str, *, client: str) -> Disbursement:
        """The creditor passed the face check: the grant, bound to this payout, releases it."""
        if self._grants is None:
            raise FaceCheckUnavailable(
                "face verification is not available here; the court's finance office pays"
            )
        d = self.claim(code, client=client)
        self._releasable(d)
        now = self._clock.now()
        use = self._grants.check(grant, Binding.of(d), now=now)
        release = Release(
            kind=ReleaseKind.FACE, attempt=d.attempt, at=now,
            released_by=f"creditor:{d.creditor_party_id}", grant_id=use.grant_id,
        )  # fmt: skip
        released = advance(d, S.RELEASED, at=now, actor=f"creditor {d.creditor_name}",
                           action="released after the creditor's face check",
                           release=release)  # fmt: skip
        used = self.store.claim_used_item(claims.code_hash(code), now)
        try:
            self._workflow.save(d, released, extra=[use.mark_used, used])
        except ExtraItemRefused as error:
            if error.index == 1:
                raise GrantRefused("this face check was used already; verify again") from error
            raise ClaimNotFound("this claim link was used already") from error
        return self.send(released)

    def _releasable(self, d: Disbursement) -> None:
        if d.state != S.APPROVED:
            raise StateRefused(f"the disbursement is {d.state.value}, not waiting for release")
        if d.deferral is not None:
            raise StateRefused("a deferral is waiting for approval; decide it first")
        if d.reserved_until is not None and self._clock.now() > d.reserved_until - RELEASE_MARGIN:
            raise StateRefused("the reservation is about to run out; reissue the disbursement")

    # -- send --------------------------------------------------------------------------------

    def send(self, d: Disbursement) -> Disbursement:
        """The one step that calls the rail. Refuses without a valid release, with the
        approval chains read from the approvals table, not from the disbursement's copy."""
        request = d.staff_release_request
        check_release(
            d,
            chain_approved=self._workflow.chain_approved(ChainKind.DISBURSEMENT, d.disbursement_id),
            staff_release_approved=request is not None
            and self._workflow.approvals_complete(request.approval_id),
        )
        rail = self._rail()
        now = self._clock.now()
        payout: RailPayout | None = None
        out_of_time = d.reserved_until is not None and now >= d.reserved_until
        if d.state == S.RELEASED:
            sending = advance(d, S.SENDING, at=now, actor=RAIL_ACTOR, action="sending",
                              detail=f"idempotency key {d.rail_key}")  # fmt: skip
            d = self._workflow.save(d, sending)
            if out_of_time:  # the key was never used: nothing can be at the rail
                return self._refused(
                    d, "the payout was not sent before its reservation ran out; reissue it",
                    action="not sent: the reservation ran out",
                )  # fmt: skip
        elif d.state == S.SENDING:
            started = next(
                t.at for t in reversed(d.trail) if t.state == S.SENDING and t.action == "sending"
            )
            payout = rail.find(key=d.rail_key, since=started)
            if payout is None and out_of_time:
                return self._held_for_review(d)
        else:
            raise StateRefused(f"the disbursement is {d.state.value}; nothing to send")
        if payout is None:
            try:
                payout = rail.send(
                    key=d.rail_key, amount=d.amount, currency=d.currency,
                    destination=PayoutDestination(
                        holder_name=d.destination.account_name,
                        bank_name=d.destination.bank_name,
                        account_number=d.destination.account_number,
                    ),
                    disbursement_id=d.disbursement_id,
                    description=f"{d.court_name} {d.case_number} 案款发放",
                )  # fmt: skip
            except PayoutRailUnavailable:
                log.warning("payouts: rail did not answer for %s; sweeper retries", d.rail_key)
                return d
            except PayoutRailRefused as error:
                return self._refused(d, error.detail)
        return self._record_answer(d, payout)

    def _held_for_review(self, d: Disbursement) -> Disbursement:
        """A send may have reached the rail, which shows no payout under the key, and the time
        to pay from this reservation is over. Failing the attempt would let a reissue pay the
        creditor twice if the rail does hold the payout (a list that missed it), and sending
        again is no safer: the rail keeps an idempotency key for about a day, not the days
        this attempt has waited. So the attempt waits for a person, its money still reserved;
        the sweeper keeps asking the rail, and a payout found (or its webhook) is recorded."""
        if d.trail and d.trail[-1].action == HELD_FOR_REVIEW:
            return d
        held = advance(
            d, None, at=self._clock.now(), actor=RAIL_ACTOR, action=HELD_FOR_REVIEW,
            detail=f"the payout service shows no payout under idempotency key {d.rail_key}, "
            "but a send was made under it; check with the payout service before anything "
            "else is paid. The money stays reserved.",
        )  # fmt: skip
        return self._workflow.save(d, held)

    def _refused(
        self, d: Disbursement, reason: str, action: str = "refused by the payout service"
    ) -> Disbursement:
        """Nothing was sent: the attempt fails first (no later send can happen), then its
        money goes back to the case; the sweeper makes sure of that and clears it."""
        failed = advance(d, S.FAILED, at=self._clock.now(), actor=RAIL_ACTOR,
                         action=action, detail=reason, failure_reason=reason)  # fmt: skip
        saved = self._workflow.save(d, failed)
        self._workflow.release_reservation(saved)
        return saved

    def _record_answer(self, d: Disbursement, payout: RailPayout) -> Disbursement:
        sent = advance(d, S.SENT, at=self._clock.now(), actor=RAIL_ACTOR, action="sent",
                       detail=f"payout {payout.reference}", rail_reference=payout.reference,
                       rail_status=payout.status.value)  # fmt: skip
        return self.settle(self._workflow.save(d, sent), payout)

    # -- settle ------------------------------------------------------------------------------

    def settle(self, d: Disbursement, payout: RailPayout) -> Disbursement:
        """Move the money as the rail's payout says; exactly once per payout and outcome."""
        if payout.amount != d.amount or payout.currency != d.currency:
            log.error("payouts: payout %s does not match %s", payout.reference, d.disbursement_id)
            raise StateRefused("the rail's payout does not match the disbursement; review it")
        now = self._clock.now()
        ref = payout.reference
        if payout.status == PayoutStatus.PAID and d.state == S.SENT:
            self._ledger.post_pending(
                d.reservation_id, id=f"payout:{ref}:posted", requested_by=LEDGER_ACTOR
            )
            paid = advance(d, S.PAID, at=now, actor=RAIL_ACTOR, action="paid",
                           rail_status=payout.status.value)  # fmt: skip
            self._workflow.save(d, paid)
            self._workflow.stop_clock(paid)
            return paid
        # failed or returned: the money is back in the case account before the state says so,
        # so the one write that records the outcome also records the reservation cleared
        if payout.status in (PayoutStatus.FAILED, PayoutStatus.CANCELED) and d.state == S.SENT:
            self._workflow.release_reservation(d)
            return self._fail(d, S.FAILED, payout, "failed")
        if payout.status == PayoutStatus.RETURNED and d.state == S.SENT:
            self._workflow.release_reservation(d)
            return self._fail(d, S.RETURNED, payout, "returned by the bank")
        if payout.status == PayoutStatus.RETURNED and d.state == S.PAID:
            with suppress(AlreadyReversed):  # a replay of this very return
                self._ledger.reverse(
                    f"payout:{ref}:posted", id=f"payout:{ref}:returned",
                    requested_by=LEDGER_ACTOR, reason=payout.failure_reason or "returned",
                )  # fmt: skip
            # the creditor has not got the money after all: paying them again has a clock of
            # its own from today (the one met by the payment stays met)
            clock = f"{d.disbursement_id}:returned:{d.attempt}"
            returned = self._fail(
                d, S.RETURNED, payout, "returned by the bank", returned_clock=clock
            )
            self._workflow.start_clock(returned)
            return returned
        return d

    def _fail(
        self,
        d: Disbursement,
        target: DisbursementState,
        payout: RailPayout,
        action: str,
        **updates: Any,
    ) -> Disbursement:
        failed = advance(d, target, at=self._clock.now(), actor=RAIL_ACTOR, action=action,
                         detail=payout.failure_reason, failure_reason=payout.failure_reason,
                         rail_status=payout.status.value, reservation_cleared=True,
                         **updates)  # fmt: skip
        return self._workflow.save(d, failed)

    # -- notices and the sweeper ---------------------------------------------------------------

    def on_webhook(self, raw_body: bytes, headers: dict[str, str]) -> dict[str, str]:
        """A signed notice that a payout changed: read it back from the rail and settle."""
        rail = self._rail()
        event = rail.parse_event(raw_body, headers)
        if event.reference is None:
            return {"received": event.event_id, "action": "ignored"}
        payout = rail.retrieve(event.reference)
        if payout.disbursement_id is None:
            return {"received": event.event_id, "action": "not ours"}
        d = self._workflow.get(payout.disbursement_id)
        if d.rail_key != payout.key:
            return {"received": event.event_id, "action": "an earlier attempt"}
        # in SENDING, the sending request died after its call: record the answer first
        d = self._record_answer(d, payout) if d.state == S.SENDING else self.settle(d, payout)
        return {"received": event.event_id, "state": d.state.value}

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Finish every disbursement a crash, a silent rail or the calendar left waiting."""
        moment = now or self._clock.now()
        counts = {"examined": 0, "sent": 0, "settled": 0, "resumed": 0, "expired": 0, "failed": 0}
        for disbursement_id in list(self.store.due(moment)):
            counts["examined"] += 1
            try:
                outcome = self._sweep_one(self._workflow.get(disbursement_id), moment)
            except Exception:
                log.exception("payouts: sweeping %s failed", disbursement_id)
                outcome = "failed"
            if outcome:
                counts[outcome] += 1
        return SweepReport(**counts)

    def _sweep_one(self, d: Disbursement, moment: datetime) -> str | None:  # noqa: PLR0911
        if d.state in (S.RELEASED, S.SENDING):
            after = self.send(d)
            return "sent" if after.state != d.state else None
        if d.state == S.SENT and d.rail_reference:
            after = self.settle(d, self._rail().retrieve(d.rail_reference))
            if after.state == d.state:  # still processing: look again later
                self._workflow.save(d, d.model_copy(update={"version": d.version + 1}))
                return None
            return "settled"
        if d.state in ENDED_STATES or d.state in (S.FAILED, S.RETURNED):
            self._workflow.clear_ended(d)
            return None
        if d.state == S.DEFERRED and d.deferral is not None and d.deferral.until <= moment:
            resumed = advance(d, S.APPROVED, at=moment, actor="system", action="deferral ended",
                              deferral=None)  # fmt: skip
            self._workflow.save(d, resumed)
            return "resumed"
        if d.state in (S.APPROVED, S.DEFERRED):
            expired = advance(d, S.EXPIRED, at=moment, actor="system",
                              action="expired before release")  # fmt: skip
            self._workflow.save(d, expired)
            self._workflow.release_reservation(expired)
            self._workflow.withdraw_clock(expired)
            self._workflow.withdraw_open_requests(expired)
            return "expired"
        return None
