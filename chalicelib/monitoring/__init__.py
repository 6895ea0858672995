"""Central monitoring (集中监管): money held, deadlines, unidentified funds, payout times and
reconciliation per court, as JSON, CSV and a server-rendered page for court leaders."""

from __future__ import annotations

from chalicelib.monitoring.figures import CourtFigures, MonitoringService, Overview, csv_rows

__all__ = ["CourtFigures", "MonitoringService", "Overview", "csv_rows"]
