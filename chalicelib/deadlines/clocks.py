"""The clock every item with a statutory time limit carries: due, near due, overdue, deferred.

A clock starts on the court date money arrived and runs a court's limit in working days. A
disbursement deferred with approval (延缓发放) shows as deferred until the deferral's end, and is
due on that day. A clock started while its year had no schedule is provisional and is counted
again on every reading, so an announced schedule corrects it without any migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.workdays import WorkingCalendar, court_date

if TYPE_CHECKING:
    from chalicelib.settings import CourtLimits


class LimitKind(StrEnum):
    CLAIM = "claim"  # unidentified funds claimed to a case (认领), 3 working days
    NOTICE = "notice"  # the creditor told that money arrived on the case, 5 working days
    DISBURSEMENT = "disbursement"  # paid out to the creditor (发放), 15 working days

    def working_days(self, limits: CourtLimits) -> int:
        return int(getattr(limits, self.value))


class ClockState(StrEnum):
    RUNNING = "running"
    NEAR_DUE = "near_due"
    OVERDUE = "overdue"
    DEFERRED = "deferred"
    MET = "met"


class Deferral(BaseModel):
    """An approved deferral: why, until when, and who approved it."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    reason: str = Field(min_length=2, max_length=500)
    until: date
    approved_by: str


class ItemClock(BaseModel):
    """The time limit of one item (``subject``: an unidentified payment's reference, the
    ledger transfer that brought money onto a case, a disbursement id) at one court.
    ``case_id`` ties an arrival's clock to its case, so telling the creditor meets it;
    ``amount`` (fen) picks the tier of the approval chain an overdue item is escalated up."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: LimitKind
    subject: str
    court: str
    started_on: date
    working_days: int
    due_on: date
    provisional: bool = False
    case_id: str | None = None
    amount: int | None = Field(default=None, ge=0)
    met_on: date | None = None
    deferral: Deferral | None = None
    # The item ended without being met (a disbursement cancelled or expired): no longer open,
    # never escalated, not counted as met.
    withdrawn_on: date | None = None
    withdrawn_reason: str | None = None


@dataclass(frozen=True)
class ClockReading:
    """Where a clock stands on a day. ``working_days_left`` is negative once overdue (how many
    working days late)."""

    state: ClockState
    due_on: date
    working_days_left: int
    provisional: bool


def start_clock(
    calendar: WorkingCalendar,
    limits: CourtLimits,
    kind: LimitKind,
    *,
    subject: str,
    court: str,
    arrived_at: datetime,
    case_id: str | None = None,
    amount: int | None = None,
) -> ItemClock:
    days = kind.working_days(limits)
    deadline = calendar.add_working_days(court_date(arrived_at), days)
    return ItemClock(
        kind=kind,
        subject=subject,
        court=court,
        started_on=deadline.start,
        working_days=days,
        due_on=deadline.due,
        provisional=deadline.provisional,
        case_id=case_id,
        amount=amount,
    )


def read_clock(
    clock: ItemClock, calendar: WorkingCalendar, *, today: date, near_due: int
) -> ClockReading:
    due, provisional = clock.due_on, clock.provisional
    if provisional:
        recounted = calendar.add_working_days(clock.started_on, clock.working_days)
        due, provisional = recounted.due, recounted.provisional
    if clock.met_on is not None:
        left = calendar.working_days_between(clock.met_on, due).working_days
        return ClockReading(ClockState.MET, due, left, provisional)
    if clock.deferral is not None:
        until = clock.deferral.until
        if today <= until:
            left = calendar.working_days_between(today, until).working_days
            return ClockReading(ClockState.DEFERRED, until, left, provisional)
        # a deferral only ever moves the due date out: one that ends before the limit's own
        # due date leaves that date standing
        due = max(due, until)
    if today > due:
        late = calendar.working_days_between(due, today)
        return ClockReading(ClockState.OVERDUE, due, -late.working_days, provisional)
    left = calendar.working_days_between(today, due).working_days
    state = ClockState.NEAR_DUE if left <= near_due else ClockState.RUNNING
    return ClockReading(state, due, left, provisional)
