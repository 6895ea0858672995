"""One-by-one matching of the rail's movements to the ledger's transfers, by the rail's
reference. Pure: no I/O, so it is tested and measured on its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from chalicelib.collection.rail import RailBalanceTransaction
from chalicelib.reconciliation.models import DifferenceKind, ReconciliationItem


@dataclass(frozen=True)
class LedgerMovement:
    """A ledger transfer as it moves the court's money at the rail (positive: in)."""

    transfer_id: str
    reference: str
    amount: int
    currency: str


@dataclass
class MatchOutcome:
    matched: int = 0
    items: list[ReconciliationItem] = field(default_factory=list)


def item_id(kind: DifferenceKind, reference: str) -> str:
    """The same difference found by a re-run is the same item, so its resolution stays."""
    return f"{kind.value}:{reference}"


def match(
    day: date,
    currency: str,
    rail: Iterable[RailBalanceTransaction],
    ledger: Iterable[LedgerMovement],
) -> MatchOutcome:
    """Pair each rail movement's gross amount with the ledger movements under its reference.
    Fees are not matched here: each is booked as its own transfer, keyed by the rail's
    transaction id, before matching."""
    outcome = MatchOutcome()
    by_reference: dict[str, list[LedgerMovement]] = {}
    for movement in ledger:
        by_reference.setdefault(movement.reference, []).append(movement)
    rail_by_reference: dict[str, list[RailBalanceTransaction]] = {}
    for transaction in rail:
        rail_by_reference.setdefault(transaction.reference, []).append(transaction)

    def add(
        kind: DifferenceKind,
        reference: str,
        rail_amount: int | None,
        ledger_amount: int | None,
        detail: str,
    ) -> None:
        outcome.items.append(
            ReconciliationItem(
                item_id=item_id(kind, reference),
                day=day,
                currency=currency,
                kind=kind,
                reference=reference,
                rail_amount=rail_amount,
                ledger_amount=ledger_amount,
                difference=(rail_amount or 0) - (ledger_amount or 0),
                detail=detail,
            )
        )

    for reference, transactions in rail_by_reference.items():
        rail_amount = sum(t.amount for t in transactions)
        movements = by_reference.pop(reference, [])
        if not movements:
            add(
                DifferenceKind.MISSING_IN_LEDGER,
                reference,
                rail_amount,
                None,
                f"the rail booked {rail_amount} fen ({', '.join(t.id for t in transactions)}) "
                "and the ledger has no transfer for it this day",
            )
            continue
        ledger_amount = sum(m.amount for m in movements)
        rail_currencies = {t.currency for t in transactions}
        ledger_currencies = {m.currency for m in movements}
        if rail_currencies != ledger_currencies:
            add(
                DifferenceKind.CURRENCY,
                reference,
                rail_amount,
                ledger_amount,
                f"the rail booked it in {', '.join(sorted(rail_currencies))}, the ledger in "
                f"{', '.join(sorted(ledger_currencies))}",
            )
        elif rail_amount != ledger_amount:
            add(
                DifferenceKind.AMOUNT,
                reference,
                rail_amount,
                ledger_amount,
                f"the rail booked {rail_amount} fen, the ledger "
                f"{', '.join(m.transfer_id for m in movements)} {ledger_amount} fen",
            )
        else:
            outcome.matched += 1
    for reference, movements in by_reference.items():
        ledger_amount = sum(m.amount for m in movements)
        add(
            DifferenceKind.MISSING_AT_RAIL,
            reference,
            None,
            ledger_amount,
            f"the ledger moved {ledger_amount} fen "
            f"({', '.join(m.transfer_id for m in movements)}) and the rail booked nothing "
            "for it this day",
        )
    return outcome
