"""One-by-one matching of the rail's movements to the ledger's transfers, by the rail's
reference, as both sides stream past in time order. Pure: no I/O, so it is tested and measured
on its own.

A rail movement and its ledger transfer are booked moments apart, so a reference waits only
until its other side arrives: once both sides agree (amount and currency) it is matched and
forgotten. What a run holds is what has not matched yet, which on a sound day is a handful,
whatever the size of the day; what is still waiting at the end is a difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from chalicelib.collection.rail import RailBalanceTransaction
from chalicelib.reconciliation.models import DifferenceKind, ReconciliationItem


@dataclass(frozen=True)
class LedgerMovement:
    """A ledger transfer as it moves the court's money at the rail (positive: in)."""

    transfer_id: str
    reference: str
    amount: int
    currency: str
    at: datetime


@dataclass
class _Waiting:
    """A reference whose sides do not agree yet."""

    rail_amount: int = 0
    ledger_amount: int = 0
    rail_ids: list[str] = field(default_factory=list)
    transfer_ids: list[str] = field(default_factory=list)
    rail_currencies: set[str] = field(default_factory=set)
    ledger_currencies: set[str] = field(default_factory=set)

    def agrees(self) -> bool:
        return (
            bool(self.rail_ids and self.transfer_ids)
            and self.rail_amount == self.ledger_amount
            and self.rail_currencies == self.ledger_currencies
        )


@dataclass
class MatchOutcome:
    matched: int = 0
    items: list[ReconciliationItem] = field(default_factory=list)


def item_id(kind: DifferenceKind, reference: str) -> str:
    """The same difference found by a re-run is the same item, so its resolution stays."""
    return f"{kind.value}:{reference}"


class Matcher:
    """Pairs each rail movement's gross amount with the ledger movements under its reference.
    Fees are not matched here: each is booked as its own transfer, keyed by the rail's
    transaction id, before matching.

    Rail movements in another currency are fed too: one that meets a ledger transfer under its
    reference is a currency difference; one that meets none belongs to that currency's own run.
    A second movement under a reference that already matched is compared on its own."""

    def __init__(self, day: date, currency: str) -> None:
        self._day = day
        self._currency = currency
        self._waiting: dict[str, _Waiting] = {}
        self.matched = 0
        self.most_waiting = 0  # the most references held at once (what the run's memory holds)

    def rail(self, transaction: RailBalanceTransaction) -> None:
        waiting = self._waiting.setdefault(transaction.reference, _Waiting())
        waiting.rail_amount += transaction.amount
        waiting.rail_ids.append(transaction.id)
        waiting.rail_currencies.add(transaction.currency)
        self._settle(transaction.reference, waiting)

    def ledger(self, movement: LedgerMovement) -> None:
        waiting = self._waiting.setdefault(movement.reference, _Waiting())
        waiting.ledger_amount += movement.amount
        waiting.transfer_ids.append(movement.transfer_id)
        waiting.ledger_currencies.add(movement.currency)
        self._settle(movement.reference, waiting)

    def _settle(self, reference: str, waiting: _Waiting) -> None:
        if waiting.agrees():
            del self._waiting[reference]
            self.matched += 1
        else:
            self.most_waiting = max(self.most_waiting, len(self._waiting))

    def finish(self) -> MatchOutcome:
        """The differences: every reference whose sides never agreed."""
        outcome = MatchOutcome(matched=self.matched)
        for reference, waiting in self._waiting.items():
            found = self._difference(reference, waiting)
            if found is not None:
                outcome.items.append(found)
        self._waiting = {}
        return outcome

    def _difference(self, reference: str, waiting: _Waiting) -> ReconciliationItem | None:
        rail, ledger = waiting.rail_amount, waiting.ledger_amount
        if not waiting.transfer_ids:
            if self._currency not in waiting.rail_currencies:
                return None  # another currency's movement: reconciled in its own run
            return self._item(
                DifferenceKind.MISSING_IN_LEDGER,
                reference,
                rail,
                None,
                f"the rail booked {rail} fen ({', '.join(waiting.rail_ids)}) "
                "and the ledger has no transfer for it this day",
            )
        transfers = ", ".join(waiting.transfer_ids)
        if not waiting.rail_ids:
            return self._item(
                DifferenceKind.MISSING_AT_RAIL,
                reference,
                None,
                ledger,
                f"the ledger moved {ledger} fen ({transfers}) and the rail booked nothing "
                "for it this day",
            )
        if waiting.rail_currencies != waiting.ledger_currencies:
            return self._item(
                DifferenceKind.CURRENCY,
                reference,
                rail,
                ledger,
                f"the rail booked it in {', '.join(sorted(waiting.rail_currencies))}, the "
                f"ledger in {', '.join(sorted(waiting.ledger_currencies))}",
            )
        return self._item(
            DifferenceKind.AMOUNT,
            reference,
            rail,
            ledger,
            f"the rail booked {rail} fen, the ledger {transfers} {ledger} fen",
        )

    def _item(
        self,
        kind: DifferenceKind,
        reference: str,
        rail_amount: int | None,
        ledger_amount: int | None,
        detail: str,
    ) -> ReconciliationItem:
        return ReconciliationItem(
            item_id=item_id(kind, reference),
            day=self._day,
            currency=self._currency,
            kind=kind,
            reference=reference,
            rail_amount=rail_amount,
            ledger_amount=ledger_amount,
            difference=(rail_amount or 0) - (ledger_amount or 0),
            detail=detail,
        )
