"""The figures of central monitoring (集中监管), per court and across the courts in view:
money held, items overdue, near due and deferred, unidentified funds and their age, working
days from arrival to payout, and reconciliation by day."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from chalicelib.cases.models import ListQuery
from chalicelib.collection.models import ClaimStatus
from chalicelib.deadlines.clocks import ClockState, LimitKind, read_clock
from chalicelib.money import format_yuan
from chalicelib.workdays.models import court_date

if TYPE_CHECKING:
    from chalicelib.cases.service import CaseService
    from chalicelib.deadlines.daily import DeadlineService, UnidentifiedQueue
    from chalicelib.ledger.service import LedgerService
    from chalicelib.reconciliation.store import ReconciliationStore
    from chalicelib.settings import Settings
    from chalicelib.workdays.working_calendar import WorkingCalendar

QUEUE_LIMIT = 1000  # open unidentified items read, oldest first (as the daily job reads them)

CASE_PAGE = 100
RECONCILIATION_DAYS = 7


class CourtFigures(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    court: str
    cases: int
    held: int  # fen in the court's case accounts
    overdue: int
    near_due: int
    deferred: int
    payouts: int  # disbursements paid, with their clocks met
    payout_days_average: float | None  # working days from money arriving to payout
    payout_days_worst: int | None


class UnidentifiedFigures(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    open: int
    amount: int
    oldest_working_days: int | None
    overdue: int  # past the claim limit


class ReconciliationDay(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    day: date
    status: str  # open, balanced, closed, or not_run
    unexplained: int


class Overview(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    day: date
    courts: tuple[CourtFigures, ...]
    unidentified: UnidentifiedFigures
    reconciliation: tuple[ReconciliationDay, ...]
    calendar_alarm: str | None


class MonitoringService:
    """The figures for the courts asked about, from the services that hold them."""

    def __init__(
        self,
        *,
        cases: CaseService,
        ledger: LedgerService,
        deadlines: DeadlineService,
        queue: UnidentifiedQueue,
        reconciliation: ReconciliationStore,
        calendar: WorkingCalendar,
        settings: Settings,
    ) -> None:
        self._cases = cases
        self._ledger = ledger
        self._deadlines = deadlines
        self._queue = queue
        self._reconciliation = reconciliation
        self._calendar = calendar
        self.settings = settings

    def overview(self, courts: Iterable[str], *, today: date) -> Overview:
        return overview(
            courts,
            cases=self._cases,
            ledger=self._ledger,
            deadlines=self._deadlines,
            queue=self._queue,
            reconciliation=self._reconciliation,
            calendar=self._calendar,
            settings=self.settings,
            today=today,
        )

    def csv(self, view: Overview) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(csv_rows(view))
        return out.getvalue()


def overview(
    courts: Iterable[str],
    *,
    cases: CaseService,
    ledger: LedgerService,
    deadlines: DeadlineService,
    queue: UnidentifiedQueue,
    reconciliation: ReconciliationStore,
    calendar: WorkingCalendar,
    settings: Settings,
    today: date,
) -> Overview:
    wanted = sorted(set(courts))
    open_clocks = list(deadlines.store.open_clocks())
    figures = []
    for court in wanted:
        near = settings.limits_for(court).near_due
        states = [
            read_clock(c, calendar, today=today, near_due=near).state
            for c in open_clocks
            if c.court == court
        ]
        paid = [
            calendar.working_days_between(c.started_on, c.met_on).working_days
            for c in deadlines.store.met_clocks(court)
            if c.kind is LimitKind.DISBURSEMENT and c.met_on is not None
        ]
        accounts = _case_accounts(cases, court)
        balances = ledger.balances(accounts)
        figures.append(
            CourtFigures(
                court=court,
                cases=len(accounts),
                held=sum(b.posted for b in balances.values()),
                overdue=states.count(ClockState.OVERDUE),
                near_due=states.count(ClockState.NEAR_DUE),
                deferred=states.count(ClockState.DEFERRED),
                payouts=len(paid),
                payout_days_average=round(sum(paid) / len(paid), 1) if paid else None,
                payout_days_worst=max(paid) if paid else None,
            )
        )
    waiting = queue.unidentified_queue(ClaimStatus.OPEN, limit=QUEUE_LIMIT)
    ages = [
        calendar.working_days_between(court_date(i.received_at), today).working_days
        for i in waiting
    ]
    claim_limit = settings.limits.claim
    days = {
        d.day: d
        for d in reconciliation.days(
            "CNY", today - timedelta(days=RECONCILIATION_DAYS), today, limit=RECONCILIATION_DAYS + 1
        )
    }
    recent = tuple(
        ReconciliationDay(
            day=day,
            status=days[day].status.value if day in days else "not_run",
            unexplained=days[day].unexplained if day in days else 0,
        )
        for day in (today - timedelta(days=n) for n in range(1, RECONCILIATION_DAYS + 1))
    )
    return Overview(
        day=today,
        courts=tuple(figures),
        unidentified=UnidentifiedFigures(
            open=len(waiting),
            amount=sum(i.amount for i in waiting),
            oldest_working_days=max(ages) if ages else None,
            overdue=sum(1 for a in ages if a > claim_limit),
        ),
        reconciliation=recent,
        calendar_alarm=calendar.status().alarm,
    )


def _case_accounts(cases: CaseService, court: str) -> list[str]:
    accounts: list[str] = []
    cursor: str | None = None
    while True:
        page = cases.list(ListQuery(court=court, limit=CASE_PAGE, cursor=cursor))
        accounts += [c.account_number for c in page.cases]
        cursor = page.cursor
        if cursor is None:
            return accounts


def csv_rows(view: Overview) -> list[list[str]]:
    rows = [
        [
            "court",
            "cases",
            "held fen",
            "held yuan",
            "overdue",
            "near due",
            "deferred",
            "payouts",
            "average working days to payout",
            "worst working days to payout",
        ]
    ]
    for c in view.courts:
        rows.append(
            [
                c.court,
                str(c.cases),
                str(c.held),
                format_yuan(c.held),
                str(c.overdue),
                str(c.near_due),
                str(c.deferred),
                str(c.payouts),
                "" if c.payout_days_average is None else str(c.payout_days_average),
                "" if c.payout_days_worst is None else str(c.payout_days_worst),
            ]
        )
    return rows
