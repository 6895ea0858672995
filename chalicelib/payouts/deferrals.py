"""Deferral (延缓发放) of an approved disbursement, decided by its own approval chain, and the
disbursement's clock: "disbursed within the court's working days (15) unless deferred with
approval", started when the money is held for the creditor, deferred with the approved
deferral's reason and end date, met when the creditor is paid.

``Deferrals`` is part of ``DisbursementWorkflow``; it uses the workflow's reading and writing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalicelib.approvals import ApprovalStatus, ChainKind, Decision, approval_id
from chalicelib.deadlines import Deferral as ClockDeferral
from chalicelib.deadlines import LimitKind
from chalicelib.identity import Principal
from chalicelib.money import Money
from chalicelib.payouts.bodies import DeferralRequest
from chalicelib.payouts.changes import RELEASE_MARGIN, advance
from chalicelib.payouts.errors import StateRefused
from chalicelib.payouts.models import Deferral, Disbursement, DisbursementState
from chalicelib.workdays import court_date

if TYPE_CHECKING:
    from chalicelib.approvals import ApprovalService, Planned
    from chalicelib.clock import Clock
    from chalicelib.deadlines import DeadlineService

log = logging.getLogger(__name__)
S = DisbursementState


class Deferrals:
    if TYPE_CHECKING:
        approvals: ApprovalService
        _clock: Clock
        _deadlines: DeadlineService

        def get(self, disbursement_id: str) -> Disbursement: ...
        def save(
            self, before: Disbursement, after: Disbursement, **kwargs: Any
        ) -> Disbursement: ...
        def commit(
            self,
            planned: Planned,
            before: Disbursement,
            after: Disbursement,
            extra: list[dict[str, Any]] | None = None,
        ) -> Disbursement: ...

    # -- deferral (延缓发放) ------------------------------------------------------------------

    def request_deferral(
        self, disbursement_id: str, body: DeferralRequest, *, by: Principal
    ) -> Disbursement:
        d = self.get(disbursement_id)
        now = self._clock.now()
        if d.state != S.APPROVED:
            raise StateRefused("only an approved disbursement waiting for release is deferred")
        if d.deferral is not None:
            raise StateRefused("a deferral is already waiting for approval")
        if body.until <= now:
            raise StateRefused("a deferral ends in the future")
        if d.reserved_until is not None and body.until > d.reserved_until - RELEASE_MARGIN:
            raise StateRefused(
                f"the money is reserved until {d.reserved_until:%Y-%m-%d}; a deferral must end "
                f"{RELEASE_MARGIN.days} days before that"
            )
        item_id = f"{d.disbursement_id}-deferral-{len(d.trail)}"
        planned = self.approvals.plan_open(
            ChainKind.DEFERRAL, item_id, court=d.court_code, amount=Money(d.amount, d.currency),
            requester=by, summary=f"{d.case_number}: {body.reason}",
        )  # fmt: skip
        deferral = Deferral(
            reason=body.reason, until=body.until, requested_by=by.subject,
            requested_by_actor=by.actor, requested_at=now,
            approval_id=approval_id(ChainKind.DEFERRAL, item_id),
        )  # fmt: skip
        changed = advance(
            d, None, at=now, actor=by.actor, action="deferral requested",
            detail=f"until {body.until:%Y-%m-%d}: {body.reason}", deferral=deferral,
        )  # fmt: skip
        return self.commit(planned, d, changed)

    def decide_deferral(
        self, disbursement_id: str, *, by: Principal, approve: bool, reason: str | None = None
    ) -> Disbursement:
        """A step of the deferral's chain: approved, the disbursement is deferred (its money
        stays reserved); refused, the deferral request is dropped."""
        d = self.get(disbursement_id)
        deferral = self.waiting_deferral(d)
        decision = Decision.APPROVE if approve else Decision.REJECT
        planned = self.approvals.plan_decision(
            deferral.approval_id, decision, by=by, text=None if approve else reason
        )
        now = self._clock.now()
        status = planned.approval.status
        if status == ApprovalStatus.REJECTED:
            changed = advance(d, None, at=now, actor=by.actor, action="deferral refused",
                              detail=reason, deferral=None)  # fmt: skip
        elif status == ApprovalStatus.APPROVED:
            approved = deferral.model_copy(update={"approved_by": by.subject, "approved_at": now})
            changed = advance(d, S.DEFERRED, at=now, actor=by.actor, action="deferral approved",
                              detail=f"until {deferral.until:%Y-%m-%d}",
                              deferral=approved)  # fmt: skip
        else:
            changed = advance(d, None, at=now, actor=by.actor, action="deferral step approved")
        committed = self.commit(planned, d, changed)
        if status == ApprovalStatus.APPROVED:
            self._defer_clock(committed, deferral, by=by)
        return committed

    def waiting_deferral(self, d: Disbursement) -> Deferral:
        """The deferral that waits for its chain (asked for, not approved yet)."""
        deferral = d.deferral
        if d.state != S.APPROVED or deferral is None or deferral.approved_by is not None:
            raise StateRefused("no deferral is waiting for approval")
        return deferral

    def resume(self, disbursement_id: str, *, by: Principal) -> Disbursement:
        """End a deferral early; the sweeper ends it by itself on its end date."""
        d = self.get(disbursement_id)
        changed = advance(d, S.APPROVED, at=self._clock.now(), actor=by.actor,
                          action="deferral ended", deferral=None)  # fmt: skip
        return self.save(d, changed)

    # -- the disbursement clock (disbursed within the court's working days) -------------------

    def start_clock(self, d: Disbursement) -> None:
        """The money is held for the creditor: the clock "disbursed within 15 working days
        unless deferred with approval" starts (once; a reissue after a failure keeps the clock
        it has; the bank returning a paid payout starts a new one, ``returned_clock``)."""
        try:
            self._deadlines.track(
                LimitKind.DISBURSEMENT, subject=d.clock_subject, court=d.court_code,
                arrived_at=self._clock.now(),
            )  # fmt: skip
        except Exception:  # the money's state is committed; the clock is a reminder of it
            log.exception("payouts: the disbursement clock of %s did not start", d.disbursement_id)

    def _defer_clock(self, d: Disbursement, deferral: Deferral, *, by: Principal) -> None:
        try:
            self._deadlines.defer(
                LimitKind.DISBURSEMENT, d.clock_subject,
                ClockDeferral(reason=deferral.reason, until=court_date(deferral.until),
                              approved_by=by.actor),
            )  # fmt: skip
        except Exception:
            log.exception("payouts: the disbursement clock of %s was not deferred",
                          d.disbursement_id)  # fmt: skip

    def withdraw_clock(self, d: Disbursement) -> None:
        """The disbursement ended unpaid (cancelled or expired): its clock is withdrawn, so it
        is neither escalated as overdue nor counted as paid in time."""
        try:
            self._deadlines.withdraw(
                LimitKind.DISBURSEMENT, d.clock_subject, on=court_date(self._clock.now()),
                reason=d.state.value,
            )  # fmt: skip
        except Exception:
            log.exception("payouts: the disbursement clock of %s was not withdrawn",
                          d.disbursement_id)  # fmt: skip

    def stop_clock(self, d: Disbursement) -> None:
        """The creditor is paid: the clock is met on today's court date."""
        try:
            self._deadlines.met(
                LimitKind.DISBURSEMENT, d.clock_subject, on=court_date(self._clock.now())
            )
        except Exception:
            log.exception("payouts: the disbursement clock of %s was not stopped",
                          d.disbursement_id)  # fmt: skip
