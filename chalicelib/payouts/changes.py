"""One change of a disbursement: the new record with its trail line, and when the sweeper
should next look at it. Every service step builds its change here, so no step can skip the
state machine or forget the trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.payouts.errors import StateRefused
from chalicelib.payouts.models import (
    Disbursement,
    DisbursementState,
    TrailEntry,
    can_change,
)

S = DisbursementState
ENDED_STATES = frozenset({S.REJECTED, S.CANCELLED, S.EXPIRED})
# A payout must be released this long before its reservation would run out, so that the rail
# (a bank transfer takes a few working days) answers while the money is still reserved; the
# sweeper expires an unreleased disbursement at that point.
RELEASE_MARGIN = timedelta(days=5)
MAX_TRAIL = 200  # far above any real disbursement's life; keeps the item well under 400 KB


def advance(
    d: Disbursement,
    target: DisbursementState | None,
    *,
    at: datetime,
    actor: str,
    action: str,
    detail: str | None = None,
    **updates: Any,
) -> Disbursement:
    """``d`` moved to ``target`` (``None``: same state, e.g. one approval of several), one
    version on, with the trail line. Raises ``StateRefused`` for a change the machine forbids."""
    state = d.state if target is None else target
    if target is not None and not can_change(d.state, target):
        raise StateRefused(
            f"a disbursement that is {d.state.value} cannot become {target.value}",
            state=d.state.value,
        )
    if len(d.trail) >= MAX_TRAIL:
        raise StateRefused("this disbursement has reached the limit of its trail")
    line = TrailEntry(at=at, actor=actor, action=action, state=state, detail=detail)
    return d.model_copy(
        update={
            **updates,
            "state": state,
            "version": d.version + 1,
            "updated_at": at,
            "trail": (*d.trail, line),
        }
    )


def due_for(
    d: Disbursement, now: datetime, *, grace: timedelta, poll: timedelta
) -> datetime | None:
    """When the sweeper should next look at ``d``; ``None`` once nothing is left to do."""
    if d.state in (S.RELEASED, S.SENDING):
        return now + grace  # the request that started the step normally finishes it first
    if d.state == S.SENT:
        return now + poll  # the webhook normally comes first; the sweeper asks the rail
    if d.state in (S.APPROVED, S.DEFERRED) and d.reserved_until is not None:
        last_day = d.reserved_until - RELEASE_MARGIN
        if d.state == S.DEFERRED and d.deferral is not None:
            return min(d.deferral.until, last_day)
        return last_day
    if d.state in (*ENDED_STATES, S.FAILED, S.RETURNED) and not d.reservation_cleared:
        return now + grace  # make sure the reservation was released
    return None
