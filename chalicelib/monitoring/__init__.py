"""Central monitoring (集中监管): money held, deadlines, unidentified funds, payout times and
reconciliation per court, as JSON, CSV and a server-rendered page for court leaders."""

from __future__ import annotations

from datetime import date

from chalicelib import wiring
from chalicelib.monitoring.figures import CourtFigures, Overview, csv_rows, overview

__all__ = ["CourtFigures", "Overview", "court_overview", "csv_rows"]


def court_overview(courts: list[str], *, today: date) -> Overview:
    """The figures for ``courts`` on ``today``, from the process-wide services."""
    from chalicelib.cases import case_service
    from chalicelib.collection import collection_service
    from chalicelib.deadlines import deadline_service
    from chalicelib.ledger import ledger_service
    from chalicelib.reconciliation import ReconciliationStore
    from chalicelib.workdays import working_calendar

    return overview(
        courts,
        cases=case_service(),
        ledger=ledger_service(),
        deadlines=deadline_service(),
        queue=collection_service().store,
        reconciliation=ReconciliationStore(wiring.dynamodb(), wiring.table_name("OVERSIGHT_TABLE")),
        calendar=working_calendar(),
        settings=wiring.settings(),
        today=today,
    )
