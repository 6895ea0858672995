"""Movements either side of midnight: the rail books a payment at 23:59 and the ledger posts it
at 00:01, so each day sees one lone side. A run reads the lone sides its neighbouring days
found, matches them (``Matcher``), and records the pair on both days, resolved, so neither day
waits on finance for it and both keep the history."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chalicelib.reconciliation.errors import DayChanged
from chalicelib.reconciliation.matching import CARRIED, Across
from chalicelib.reconciliation.models import DayStatus, ItemStatus, ReconciliationItem
from chalicelib.reconciliation.store import ReconciliationStore

# Who resolves a difference that a later run matched across midnight: no person judged it.
MATCHED_ACROSS_MIDNIGHT = "reconciliation:across-midnight"


def neighbours(store: ReconciliationStore, currency: str, day: date) -> list[ReconciliationItem]:
    """The lone sides found by the runs of the day before and the day after (if run), open or
    resolved: a side finance explained by hand is still the other half of a pair today."""
    return [
        item
        for other in (day - timedelta(days=1), day + timedelta(days=1))
        for item in store.items(currency, other)
        if item.kind in CARRIED
    ]


def matched_across(
    store: ReconciliationStore, pairs: list[Across], *, now: datetime, by: str
) -> list[ReconciliationItem]:
    """The running day's record of each pair, resolved; the other day's difference it answers
    is resolved too (unless finance explained it already) and that day's figures follow."""
    here: list[ReconciliationItem] = []
    touched: set[tuple[str, date]] = set()
    for pair in pairs:
        resolution = {
            "status": ItemStatus.RESOLVED,
            "resolved_by": MATCHED_ACROSS_MIDNIGHT,
            "resolved_at": now,
        }
        here.append(
            pair.here.model_copy(
                update={
                    **resolution,
                    "note": f"matched with {pair.there.item_id} of {pair.there.day} by the "
                    f"run of {pair.here.day} ({by})",
                }
            )
        )
        there = store.item(pair.there.currency, pair.there.day, pair.there.item_id)
        if there.status is not ItemStatus.OPEN:
            continue  # finance explained it already; it stays as they left it
        ids = ", ".join(pair.here.transfers or pair.here.rail_transactions)
        try:
            store.resolve(
                there.model_copy(
                    update={
                        **resolution,
                        "other_day": pair.here.day,
                        "note": f"matched across midnight with {ids} of {pair.here.day}, by "
                        f"the run of {pair.here.day} ({by})",
                    }
                )
            )
        except DayChanged:
            continue  # resolved by finance meanwhile
        touched.add((there.currency, there.day))
    for currency, other in touched:
        _refresh(store, currency, other)
    return here


def _refresh(store: ReconciliationStore, currency: str, day: date) -> None:
    """A day's figures again after another day's run resolved one of its differences."""
    result = store.result(currency, day)
    if result is None or result.status is DayStatus.CLOSED:
        return
    still_open = [i for i in store.items(currency, day) if i.status is ItemStatus.OPEN]
    refreshed = result.model_copy(
        update={
            "status": DayStatus.OPEN if still_open else DayStatus.BALANCED,
            "open_items": len(still_open),
            "unexplained": sum(abs(i.difference) for i in still_open),
        }
    )
    try:
        store.save_result(refreshed, previous_runs=result.runs)
    except DayChanged:
        return  # run or closed meanwhile: that run or close has the figures
