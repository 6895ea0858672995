"""One-by-one matching of the rail's movements to the ledger's transfers, by the rail's
reference, as both sides stream past in time order. Pure: no I/O, so it is tested and measured
on its own.

A rail movement and its ledger transfer are booked moments apart, so a reference waits only
until its other side arrives: once both sides agree (amount and currency) it is matched and
forgotten. What a run holds is what has not matched yet, which on a sound day is a handful,
whatever the size of the day; what is still waiting at the end is a difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from chalicelib.collection.rail import RailBalanceTransaction
from chalicelib.reconciliation.models import DifferenceKind, ItemStatus, ReconciliationItem


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
    """A reference whose sides do not agree yet: each side's ids with their amounts."""

    rail_amount: int = 0
    ledger_amount: int = 0
    rail_ids: list[tuple[str, int]] = field(default_factory=list)
    transfer_ids: list[tuple[str, int]] = field(default_factory=list)
    rail_currencies: set[str] = field(default_factory=set)
    ledger_currencies: set[str] = field(default_factory=set)

    def agrees(self) -> bool:
        return (
            bool(self.rail_ids and self.transfer_ids)
            and self.rail_amount == self.ledger_amount
            and self.rail_currencies == self.ledger_currencies
        )


@dataclass(frozen=True)
class Across:
    """One movement booked on either side of midnight: ``here`` is the running day's record of
    it, ``there`` the other day's difference it answers."""

    here: ReconciliationItem
    there: ReconciliationItem
    alone: ReconciliationItem | None  # the running day's difference if ``there`` is taken


@dataclass
class MatchOutcome:
    matched: int = 0
    items: list[ReconciliationItem] = field(default_factory=list)
    across: list[Across] = field(default_factory=list)
    # references the ledger moved with nothing from the rail left beside them: posted once
    # without the rail, or posted again under a reference that had already matched
    alone_in_ledger: set[str] = field(default_factory=set)


# The differences of a neighbouring day that the running day may answer.
CARRIED = (DifferenceKind.MISSING_IN_LEDGER, DifferenceKind.MISSING_AT_RAIL)

# Who resolves a difference that a later run matched across midnight: no person judged it.
MATCHED_ACROSS_MIDNIGHT = "reconciliation:across-midnight"


def item_id(kind: DifferenceKind, reference: str) -> str:
    """The same difference found by a re-run is the same item, so its resolution stays."""
    return f"{kind.value}:{reference}"


def _names(sides: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} ({amount} fen)" for name, amount in sides)


class Matcher:
    """Pairs each rail movement's gross amount with the ledger movements under its reference.
    Fees are not matched here: each is booked as its own transfer, keyed by the rail's
    transaction id, before matching.

    Rail movements in another currency are fed too: one that meets a ledger transfer under its
    reference is a currency difference; one that meets none belongs to that currency's own run.

    ``neighbours`` are the unmatched movements of the day before and the day after: a rail
    movement at 23:59 and its transfer at 00:01 are one movement, so a side still alone at the
    end of the day that answers a neighbour's difference exactly is matched across midnight
    instead of being a difference of its own. They are consulted only at the end, so they never
    hold up the day's own pairs. ``settled`` are the references whose lone side this day is
    already explained: found again, they keep their resolution and pair with nothing."""

    def __init__(
        self,
        day: date,
        currency: str,
        *,
        neighbours: Iterable[ReconciliationItem] = (),
        settled: Iterable[str] = (),
    ) -> None:
        self._day = day
        self._currency = currency
        # references whose lone side this day is already explained (by finance, or as the
        # other half of a neighbouring day's pair): never offered to a neighbour again
        self._settled = set(settled)
        self._waiting: dict[str, _Waiting] = {}
        self._neighbours: dict[str, list[ReconciliationItem]] = {}
        for item in neighbours:
            if item.kind in CARRIED and item.currency == currency and item.day != day:
                self._neighbours.setdefault(item.reference, []).append(item)
        self.matched = 0
        self.most_waiting = 0  # the most references held at once (what the run's memory holds)

    def rail(self, transaction: RailBalanceTransaction) -> None:
        waiting = self._waiting.setdefault(transaction.reference, _Waiting())
        waiting.rail_amount += transaction.amount
        waiting.rail_ids.append((transaction.id, transaction.amount))
        waiting.rail_currencies.add(transaction.currency)
        self._settle(transaction.reference, waiting)

    def ledger(self, movement: LedgerMovement) -> None:
        waiting = self._waiting.setdefault(movement.reference, _Waiting())
        waiting.ledger_amount += movement.amount
        waiting.transfer_ids.append((movement.transfer_id, movement.amount))
        waiting.ledger_currencies.add(movement.currency)
        self._settle(movement.reference, waiting)

    def _settle(self, reference: str, waiting: _Waiting) -> None:
        if waiting.agrees():
            del self._waiting[reference]
            self.matched += 1
        else:
            self.most_waiting = max(self.most_waiting, len(self._waiting))

    def finish(self) -> MatchOutcome:
        """The differences: every reference whose sides never agreed, except a side matched
        with a neighbouring day's."""
        outcome = MatchOutcome(matched=self.matched)
        for reference, waiting in self._waiting.items():
            if waiting.agrees():
                outcome.matched += 1
                continue
            across = None if reference in self._settled else self._across(reference, waiting)
            if across is not None:
                outcome.across.append(across)
                outcome.matched += 1
                continue
            found = self._difference(reference, waiting)
            if found is not None:
                outcome.items.append(found)
                if found.kind is DifferenceKind.MISSING_AT_RAIL:
                    outcome.alone_in_ledger.add(reference)
        self._waiting = {}
        return outcome

    def _across(self, reference: str, waiting: _Waiting) -> Across | None:
        """A side alone today that a neighbouring day's lone side answers exactly. The other
        side must still be open, or already matched with this very side of this day (a re-run):
        one movement answers one other, and a side finance explained by hand stays theirs."""
        ours = tuple(name for name, _ in waiting.transfer_ids or waiting.rail_ids)
        for there in self._neighbours.get(reference, ()):
            if there.status is not ItemStatus.OPEN and (
                there.resolved_by != MATCHED_ACROSS_MIDNIGHT
                or there.other_day != self._day
                or there.matched_with != ours
            ):
                continue
            if there.kind is DifferenceKind.MISSING_IN_LEDGER:
                answers = (
                    not waiting.rail_ids
                    and waiting.ledger_currencies == {self._currency}
                    and waiting.ledger_amount == there.rail_amount
                )
                what = (
                    f"the rail booked {there.rail_amount} fen on {there.day} "
                    f"({', '.join(there.rail_transactions) or there.item_id}); the ledger "
                    f"moved it on {self._day}: {_names(waiting.transfer_ids)}"
                )
            else:
                answers = (
                    not waiting.transfer_ids
                    and waiting.rail_currencies == {self._currency}
                    and waiting.rail_amount == there.ledger_amount
                )
                what = (
                    f"the ledger moved {there.ledger_amount} fen on {there.day} "
                    f"({', '.join(there.transfers) or there.item_id}); the rail booked it on "
                    f"{self._day}: {_names(waiting.rail_ids)}"
                )
            if answers:
                here = self._item(
                    DifferenceKind.ACROSS_MIDNIGHT,
                    reference,
                    waiting,
                    f"one movement either side of midnight: {what}",
                ).model_copy(update={"other_day": there.day})
                return Across(here=here, there=there, alone=self._difference(reference, waiting))
        return None

    def _difference(self, reference: str, waiting: _Waiting) -> ReconciliationItem | None:
        rail, ledger = waiting.rail_amount, waiting.ledger_amount
        if not waiting.transfer_ids:
            if self._currency not in waiting.rail_currencies:
                return None  # another currency's movement: reconciled in its own run
            return self._item(
                DifferenceKind.MISSING_IN_LEDGER,
                reference,
                waiting,
                f"the rail booked {rail} fen ({_names(waiting.rail_ids)}) "
                "and the ledger has no transfer for it this day",
            )
        transfers = _names(waiting.transfer_ids)
        if not waiting.rail_ids:
            return self._item(
                DifferenceKind.MISSING_AT_RAIL,
                reference,
                waiting,
                f"the ledger moved {ledger} fen ({transfers}) and the rail booked nothing "
                "for it this day",
            )
        if waiting.rail_currencies != waiting.ledger_currencies:
            return self._item(
                DifferenceKind.CURRENCY,
                reference,
                waiting,
                f"the rail booked it in {', '.join(sorted(waiting.rail_currencies))}, the "
                f"ledger in {', '.join(sorted(waiting.ledger_currencies))}",
            )
        if len(waiting.transfer_ids) > len(waiting.rail_ids):
            return self._item(
                DifferenceKind.AMOUNT,
                reference,
                waiting,
                f"posted {len(waiting.transfer_ids)} times under one rail reference: the "
                f"ledger moved {ledger} fen ({transfers}), the rail booked {rail} fen "
                f"({_names(waiting.rail_ids)})",
            )
        return self._item(
            DifferenceKind.AMOUNT,
            reference,
            waiting,
            f"the rail booked {rail} fen ({_names(waiting.rail_ids)}), the ledger {ledger} fen "
            f"({transfers})",
        )

    def _item(
        self, kind: DifferenceKind, reference: str, waiting: _Waiting, detail: str
    ) -> ReconciliationItem:
        rail_amount = waiting.rail_amount if waiting.rail_ids else None
        ledger_amount = waiting.ledger_amount if waiting.transfer_ids else None
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
            rail_transactions=tuple(name for name, _ in waiting.rail_ids),
            transfers=tuple(name for name, _ in waiting.transfer_ids),
        )


class Recheck(Matcher):
    """A second look at references the ledger moved with no rail movement left beside them:
    every side of them this day, none forgotten on agreeing. A reference that had already
    matched and was posted again is then an amount difference naming every transfer, not a
    movement missing at the rail. Only these references are held, so the look is as flat in
    memory as the first."""

    def __init__(self, day: date, currency: str, references: set[str]) -> None:
        super().__init__(day, currency)
        self._only = references

    def rail(self, transaction: RailBalanceTransaction) -> None:
        if transaction.reference in self._only:
            super().rail(transaction)

    def ledger(self, movement: LedgerMovement) -> None:
        if movement.reference in self._only:
            super().ledger(movement)

    def _settle(self, reference: str, waiting: _Waiting) -> None:
        return  # every side is kept until the end: agreeing once is not the whole story
