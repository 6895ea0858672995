"""A reconciliation day as CSV: the result, every difference and the fees booked, for auditors
and spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from chalicelib.reconciliation.models import DayResult, FeeBooking, ReconciliationItem


def day_csv(result: DayResult, items: list[ReconciliationItem], fees: Iterable[FeeBooking]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "day",
            "currency",
            "status",
            "rail transactions",
            "rail gross fen",
            "rail fees fen",
            "rail net fen",
            "ledger rail movement fen",
            "ledger case movement fen",
            "matched",
            "open items",
            "unexplained fen",
            "closed by",
            "closed at",
        ]
    )
    writer.writerow(
        [
            result.day,
            result.currency,
            result.status.value,
            result.rail_transactions,
            result.rail_gross,
            result.rail_fees,
            result.rail_net,
            result.ledger_rail_movement,
            result.ledger_case_movement,
            result.matched,
            result.open_items,
            result.unexplained,
            result.closed_by or "",
            result.closed_at.isoformat() if result.closed_at else "",
        ]
    )
    writer.writerow([])
    writer.writerow(
        [
            "item",
            "kind",
            "reference",
            "rail fen",
            "ledger fen",
            "difference fen",
            "status",
            "resolved by",
            "note",
            "correction",
            "detail",
            "rail transactions",
            "transfers",
            "other day",
        ]
    )
    for item in items:
        writer.writerow(
            [
                item.item_id,
                item.kind.value,
                item.reference,
                "" if item.rail_amount is None else item.rail_amount,
                "" if item.ledger_amount is None else item.ledger_amount,
                item.difference,
                item.status.value,
                item.resolved_by or "",
                item.note or "",
                item.correction_transfer_id or "",
                item.detail,
                " ".join(item.rail_transactions),
                " ".join(item.transfers),
                item.other_day or "",
            ]
        )
    for fee in fees:
        writer.writerow(
            [
                f"fee:{fee.rail_transaction}",
                "fee_booked",
                fee.rail_transaction,
                -fee.amount,
                -fee.amount,
                0,
                "booked",
                "",
                "",
                fee.transfer_id,
                "the rail's processing fee, booked as its own transfer",
                fee.rail_transaction,
                fee.transfer_id,
                "",
            ]
        )
    return out.getvalue()
