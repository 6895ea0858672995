"""Movements either side of midnight: the rail books a payment at 23:59 and the ledger posts it
at 00:01, so each day sees one lone side. A run reads the lone sides its neighbouring days
found, matches them (``Matcher``), and records the pair on both days, resolved, so neither day
waits on finance for it and both keep the history."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chalicelib.reconciliation.errors import DayChanged
from chalicelib.reconciliation.matching import CARRIED, MATCHED_ACROSS_MIDNIGHT, Across
from chalicelib.reconciliation.models import DayStatus, ItemStatus, ReconciliationItem
from chalicelib.reconciliation.store import ReconciliationStore


def neighbours(store: ReconciliationStore, currency: str, day: date) -> list[ReconciliationItem]:
    """The lone sides found by the runs of the day before and the day after (if run): the
    matcher takes only those still open or already paired with this day."""
    return [
        item
        for other in (day - timedelta(days=1), day + timedelta(days=1))
        for item in store.items(currency, other)
        if item.kind in CARRIED
    ]


def settled(store: ReconciliationStore, currency: str, day: date) -> list[str]:
    """References whose lone side the day's earlier runs found and someone already explained:
    finance by hand, or a neighbouring day's run that paired it."""
    return [
        item.reference
        for item in store.items(currency, day)
        if item.kind in CARRIED and item.status is not ItemStatus.OPEN
    ]


def matched_across(
    store: ReconciliationStore, pairs: list[Across], *, now: datetime, by: str
) -> list[ReconciliationItem]:
    """The running day's items for its pairs. A new pair claims the other day's difference and
    writes the running day's record in one conditional transaction, so a run that fails later
    leaves both or neither, and its re-run finds the pair as its own. A difference resolved
    meanwhile (by finance, or by the run of the day on its other side) is not taken: the
    running day's side stays a difference of its own. Days whose difference was resolved
    have their figures refreshed."""
    here: list[ReconciliationItem] = []
    touched: set[tuple[str, date]] = set()
    for pair in pairs:
        resolution = {
            "status": ItemStatus.RESOLVED,
            "resolved_by": MATCHED_ACROSS_MIDNIGHT,
            "resolved_at": now,
        }
        record = pair.here.model_copy(
            update={
                **resolution,
                "note": f"matched with {pair.there.item_id} of {pair.there.day} by the "
                f"run of {pair.here.day} ({by})",
            }
        )
        if pair.there.status is ItemStatus.OPEN:
            ids = pair.here.transfers or pair.here.rail_transactions
            try:
                store.claim_across(
                    pair.there.model_copy(
                        update={
                            **resolution,
                            "other_day": pair.here.day,
                            "matched_with": ids,
                            "note": f"matched across midnight with {', '.join(ids)} of "
                            f"{pair.here.day}, by the run of {pair.here.day} ({by})",
                        }
                    ),
                    record,
                )
            except DayChanged:
                if pair.alone is not None:
                    here.append(pair.alone)
                continue
        here.append(record)  # already written, or the re-run's record of its own pair
        touched.add((pair.there.currency, pair.there.day))
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
