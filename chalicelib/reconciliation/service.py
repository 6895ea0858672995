"""The daily three-way reconciliation: the rail, the ledger's rail-facing accounts, and the
case accounts with unidentified funds; then finance resolves each difference and closes the day.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta

from chalicelib.clock import Clock
from chalicelib.collection.rail import PaymentRail, RailBalanceTransaction
from chalicelib.ledger import (
    IdempotencyConflict,
    LedgerService,
    postings,
)
from chalicelib.reconciliation.errors import DayClosed, DayNotBalanced
from chalicelib.reconciliation.export import day_csv
from chalicelib.reconciliation.ledger_side import LedgerTotals, ledger_movements
from chalicelib.reconciliation.matching import LedgerMovement, Matcher, Recheck, item_id
from chalicelib.reconciliation.midnight import matched_across, neighbours, settled
from chalicelib.reconciliation.models import (
    DayResult,
    DayStatus,
    DifferenceKind,
    FeeBooking,
    ItemStatus,
    ReconciliationItem,
)
from chalicelib.reconciliation.store import ReconciliationStore
from chalicelib.workdays import CHINA_TIME

RAIL_SLICE = timedelta(hours=1)
FEE_BATCH = 25  # fees recorded per BatchWriteItem


def day_window(day: date) -> tuple[datetime, datetime]:
    """The court's calendar day as an instant range (Beijing midnight to midnight)."""
    start = datetime.combine(day, time(0), tzinfo=CHINA_TIME)
    return start, start + timedelta(days=1)


def fee_transfer_id(rail: str, transaction_id: str) -> str:
    return f"railfee:{rail}:{transaction_id}"


Movement = RailBalanceTransaction | LedgerMovement


def _when(movement: Movement) -> datetime:
    return movement.at if isinstance(movement, LedgerMovement) else movement.created_at


class ReconciliationService:
    def __init__(
        self,
        rail: PaymentRail,
        ledger: LedgerService,
        store: ReconciliationStore,
        clock: Clock,
    ) -> None:
        self._rail = rail
        self._ledger = ledger
        self.store = store
        self._clock = clock

    # -- run -------------------------------------------------------------------------------

    def run(self, day: date, *, currency: str = "CNY", by: str) -> DayResult:
        """Reconcile ``day``: book the rail's fees, match one by one, check the three totals
        and every case account the day touched. Running again is safe: fees are booked once
        and a difference found again keeps its resolution.

        Both sides stream past in time order (the rail an hour at a time, the ledger a page
        and a batch at a time), so a run holds what has not matched yet, not the day."""
        before = self.store.result(currency, day)
        if before is not None and before.status is DayStatus.CLOSED:
            raise DayClosed(f"{day} ({currency}) is closed; its result is kept as it was")
        start, end = day_window(day)
        self._ledger.ensure_system_accounts(currency)
        matcher = Matcher(
            day,
            currency,
            neighbours=neighbours(self.store, currency, day),
            settled=settled(self.store, currency, day),
        )
        totals = LedgerTotals()
        fees: list[FeeBooking] = []  # booked, not yet recorded: at most a batch
        fee_conflicts: list[ReconciliationItem] = []
        rail_count = rail_gross = rail_fees = fees_booked = booked = 0
        rail: Iterator[Movement] = self._rail_day(start, end)
        ledger: Iterator[Movement] = ledger_movements(self._ledger, currency, start, end, totals)
        both = heapq.merge(rail, ledger, key=_when)
        for movement in both:
            if isinstance(movement, LedgerMovement):
                matcher.ledger(movement)
                continue
            if movement.currency == currency:
                rail_count += 1
                rail_gross += movement.amount
                rail_fees += movement.fee
                if movement.fee:
                    fee = self._book_fee(day, movement, fee_conflicts)
                    fees_booked += 1
                    booked += fee.amount
                    fees.append(fee)
                    if len(fees) == FEE_BATCH:
                        self.store.add_fees(currency, day, fees)
                        fees = []
            matcher.rail(movement)
        if fees:
            self.store.add_fees(currency, day, fees)
        outcome = matcher.finish()
        items = outcome.items + fee_conflicts
        if outcome.alone_in_ledger:
            # Posted without the rail, or posted again under a reference that matched: only
            # every side of the reference tells which, so the day is read again for these.
            again = self._recheck(day, currency, start, end, outcome.alone_in_ledger)
            items = [i for i in items if i.kind is not DifferenceKind.MISSING_AT_RAIL] + again
        items += matched_across(self.store, outcome.across, now=self._clock.now(), by=by)
        for transfer_id, account_id, amount in totals.strays:
            items.append(
                ReconciliationItem(
                    item_id=item_id(DifferenceKind.UNEXPECTED_COUNTERPART, transfer_id),
                    day=day,
                    currency=currency,
                    kind=DifferenceKind.UNEXPECTED_COUNTERPART,
                    reference=transfer_id,
                    ledger_amount=amount,
                    difference=amount,
                    detail=f"transfer {transfer_id} moved rail money against {account_id}, "
                    "which is neither a case account nor unidentified funds",
                )
            )
        balances = self._ledger.balances(totals.case_accounts)
        for account_id, balance in sorted(balances.items()):
            if balance.posted < 0 or balance.available < 0:
                items.append(
                    ReconciliationItem(
                        item_id=item_id(DifferenceKind.NEGATIVE_CASE_ACCOUNT, account_id),
                        day=day,
                        currency=currency,
                        kind=DifferenceKind.NEGATIVE_CASE_ACCOUNT,
                        reference=account_id,
                        ledger_amount=balance.posted,
                        difference=min(balance.posted, balance.available),
                        detail=f"case account {account_id} stands at {balance.posted} fen "
                        f"({balance.available} available)",
                    )
                )
        self.store.add_items(items)
        stored = self.store.items(currency, day)
        result = self._result(
            day,
            currency,
            stored,
            runs=(before.runs if before else 0) + 1,
            by=by,
            rail_transactions=rail_count,
            rail_gross=rail_gross,
            rail_fees=rail_fees,
            ledger_rail_movement=totals.rail_movement - booked,
            ledger_case_movement=totals.case_movement - booked,
            matched=outcome.matched,
            fees=(fees_booked, booked),
            case_accounts=len(balances),
        )
        self.store.save_result(result, previous_runs=before.runs if before else 0)
        return result

    def _recheck(
        self, day: date, currency: str, start: datetime, end: datetime, references: set[str]
    ) -> list[ReconciliationItem]:
        """The differences of ``references`` from every side of them this day: read again
        only on a day where the ledger moved money with nothing from the rail beside it."""
        recheck = Recheck(day, currency, references)
        rail: Iterator[Movement] = self._rail_day(start, end)
        ledger: Iterator[Movement] = ledger_movements(
            self._ledger, currency, start, end, LedgerTotals()
        )
        for movement in heapq.merge(rail, ledger, key=_when):
            if isinstance(movement, LedgerMovement):
                recheck.ledger(movement)
            else:
                recheck.rail(movement)
        return recheck.finish().items

    def _rail_day(self, start: datetime, end: datetime) -> Iterator[RailBalanceTransaction]:
        """The rail's day in time order. A rail lists newest first (Stripe does), so the day
        is read an hour at a time and each hour put in order: a run holds an hour of the
        rail, never the day."""
        since = start
        while since < end:
            until = min(since + RAIL_SLICE, end)
            hour = self._rail.balance_transactions(since, until)
            yield from sorted(hour, key=lambda t: (t.created_at, t.id))
            since = until

    def _book_fee(
        self,
        day: date,
        transaction: RailBalanceTransaction,
        conflicts: list[ReconciliationItem],
    ) -> FeeBooking:
        """A fee the rail took becomes its own transfer (rail fees <- clearing), keyed by the
        rail's transaction id, so it is booked once however often the day is run (the request
        is the same every time, so a re-run is the ledger's replay)."""
        transfer_id = fee_transfer_id(self._rail.name, transaction.id)
        try:
            transfer = self._ledger.transfer(
                postings.rail_fee(
                    id=transfer_id,
                    rail_reference=transaction.id,
                    rail_source=transaction.reference,
                    amount=transaction.fee,
                    currency=transaction.currency,
                )
            )
        except IdempotencyConflict:
            # Booked before with another amount: the rail's figure is the truth, so the
            # difference is shown for finance instead of booked twice.
            transfer = self._ledger.get_transfer(transfer_id)
            if transfer.amount != transaction.fee:
                conflicts.append(
                    ReconciliationItem(
                        item_id=item_id(DifferenceKind.AMOUNT, transaction.id),
                        day=day,
                        currency=transaction.currency,
                        kind=DifferenceKind.AMOUNT,
                        reference=transaction.id,
                        rail_amount=-transaction.fee,
                        ledger_amount=-transfer.amount,
                        difference=transfer.amount - transaction.fee,
                        detail=f"the rail took a fee of {transaction.fee} fen; the ledger "
                        f"booked {transfer.amount} fen as {transfer_id}",
                    )
                )
        return FeeBooking(
            rail_transaction=transaction.id, transfer_id=transfer.id, amount=transfer.amount
        )

    def _result(
        self,
        day: date,
        currency: str,
        items: list[ReconciliationItem],
        *,
        runs: int,
        by: str,
        rail_transactions: int,
        rail_gross: int,
        rail_fees: int,
        ledger_rail_movement: int,
        ledger_case_movement: int,
        matched: int,
        fees: tuple[int, int],
        case_accounts: int,
    ) -> DayResult:
        still_open = [i for i in items if i.status is ItemStatus.OPEN]
        unexplained = sum(abs(i.difference) for i in still_open)
        return DayResult(
            day=day,
            currency=currency,
            rail=self._rail.name,
            status=DayStatus.BALANCED if not still_open else DayStatus.OPEN,
            run_at=self._clock.now(),
            run_by=by,
            runs=runs,
            rail_transactions=rail_transactions,
            rail_gross=rail_gross,
            rail_fees=rail_fees,
            rail_net=rail_gross - rail_fees,
            ledger_rail_movement=ledger_rail_movement,
            ledger_case_movement=ledger_case_movement,
            matched=matched,
            fees_booked=fees[0],
            fees_booked_fen=fees[1],
            case_accounts_checked=case_accounts,
            open_items=len(still_open),
            unexplained=unexplained,
        )

    # -- reading ---------------------------------------------------------------------------

    def days(self, currency: str, start: date, end: date, *, limit: int) -> list[DayResult]:
        """Results of the days from ``start`` to ``end``, newest first."""
        return self.store.days(currency, start, end, limit=limit)

    def day(
        self, day: date, *, currency: str = "CNY"
    ) -> tuple[DayResult, list[ReconciliationItem]]:
        """A day's result and its items (404 when the day was never run)."""
        result = self.store.require_result(currency, day)
        return result, sorted(self.store.items(currency, day), key=lambda i: i.item_id)

    # -- finance ---------------------------------------------------------------------------

    def resolve(
        self,
        day: date,
        item: str,
        *,
        currency: str = "CNY",
        note: str,
        by: str,
        correction_transfer_id: str | None = None,
    ) -> ReconciliationItem:
        """Finance explains a difference. Where money had to move, the correction went
        through the ledger's four-eyes corrections and is named here; it must exist."""
        result = self.store.require_result(currency, day)
        if result.status is DayStatus.CLOSED:
            raise DayClosed(f"{day} ({currency}) is closed")
        found = self.store.item(currency, day, item)
        if found.status is not ItemStatus.OPEN:
            return found if found.resolved_by == by and found.note == note else _already(found)
        if correction_transfer_id is not None:
            self._ledger.get_transfer(correction_transfer_id)  # 404 if there is no such transfer
        resolved = found.model_copy(
            update={
                "status": ItemStatus.RESOLVED,
                "resolved_by": by,
                "resolved_at": self._clock.now(),
                "note": note,
                "correction_transfer_id": correction_transfer_id,
            }
        )
        self.store.resolve(resolved)
        return resolved

    def close(self, day: date, *, currency: str = "CNY", by: str) -> DayResult:
        """Close the day; refused while any difference is unexplained."""
        result = self.store.require_result(currency, day)
        if result.status is DayStatus.CLOSED:
            return result
        items = self.store.items(currency, day)
        still_open = [i for i in items if i.status is ItemStatus.OPEN]
        if still_open:
            unexplained = sum(abs(i.difference) for i in still_open)
            raise DayNotBalanced(
                f"{day} ({currency}) has {len(still_open)} open differences "
                f"({unexplained} fen); resolve each with a note first",
                open_items=len(still_open),
                unexplained=unexplained,
            )
        balanced = result.model_copy(
            update={"status": DayStatus.BALANCED, "open_items": 0, "unexplained": 0}
        )
        if result.status is not DayStatus.BALANCED:
            self.store.save_result(
                balanced.model_copy(update={"runs": result.runs + 1}), previous_runs=result.runs
            )
            balanced = balanced.model_copy(update={"runs": result.runs + 1})
        closed = balanced.model_copy(
            update={"status": DayStatus.CLOSED, "closed_by": by, "closed_at": self._clock.now()}
        )
        self.store.close(closed, runs=balanced.runs)
        return closed

    def export_csv(
        self,
        day: date,
        *,
        currency: str = "CNY",
        shown: Callable[[ReconciliationItem], bool] = lambda item: True,
    ) -> str:
        """The day's result and every difference ``shown`` lets the reader see, for auditors
        and spreadsheets."""
        result = self.store.require_result(currency, day)
        items = sorted(
            (i for i in self.store.items(currency, day) if shown(i)), key=lambda i: i.item_id
        )
        return day_csv(result, items, self.store.fees(currency, day))

    def fees(self, day: date, *, currency: str = "CNY") -> list[FeeBooking]:
        """The fees the rail took that day, each booked as its own ledger transfer."""
        return list(self.store.fees(currency, day))


def _already(item: ReconciliationItem) -> ReconciliationItem:
    from chalicelib.reconciliation.errors import DayChanged

    raise DayChanged(f"item {item.item_id} was already resolved by {item.resolved_by}")
