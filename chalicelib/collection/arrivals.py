"""What collection tells the statutory clocks (执行款 time limits): money counted on a case, money
nobody could place (不明款), and the creditor told. The deadlines capability answers it; the
composition root hands it in, so collection depends on no clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.collection.models import CaseSnapshot, UnidentifiedPayment

log = logging.getLogger(__name__)


class ArrivalClocks(Protocol):
    def arrived(
        self,
        *,
        case_id: str,
        court: str,
        transfer_id: str,
        amount: int,
        arrived_at: datetime,
        claimed_reference: str | None = None,
    ) -> object:
        """Money counted on a case under its ledger transfer; the creditor must be told within
        the court's limit. Told twice about one transfer, the clock starts once."""
        ...

    def unidentified_arrived(self, item: UnidentifiedPayment) -> object:
        """Money nobody could place: it must be claimed within the court's limit."""
        ...

    def creditor_notified(self, case_id: str, *, at: datetime) -> object:
        """The case's creditors were told of the money on the case."""
        ...


@dataclass(frozen=True)
class Arrival:
    """Money counted on a case, as the clocks hear of it: the ledger transfer that moved it,
    when it reached the court, and the unidentified payment it was claimed from, if any."""

    case: CaseSnapshot
    transfer_id: str
    amount: int
    arrived_at: datetime
    claimed_reference: str | None = None


class ClockTeller:
    """Tells the statutory clocks what collection did. The money and its count are committed
    before the clocks hear of it, so a clock that cannot be written is logged and never undoes
    or fails the payment."""

    def __init__(self, clocks: Callable[[], ArrivalClocks] | None) -> None:
        self._clocks = clocks  # built on the first arrival: the pay page never needs them

    def counted(self, arrival: Arrival) -> None:
        """Money counted on a case starts the clock for telling its creditor."""
        self._tell(
            lambda clocks: clocks.arrived(
                case_id=arrival.case.case_id,
                court=arrival.case.court_code,
                transfer_id=arrival.transfer_id,
                amount=arrival.amount,
                arrived_at=arrival.arrived_at,
                claimed_reference=arrival.claimed_reference,
            )
        )

    def unidentified(self, item: UnidentifiedPayment) -> None:
        self._tell(lambda clocks: clocks.unidentified_arrived(item))

    def notified(self, case_id: str, at: datetime) -> None:
        self._tell(lambda clocks: clocks.creditor_notified(case_id, at=at))

    def _tell(self, tell: Callable[[ArrivalClocks], object]) -> None:
        if self._clocks is None:
            return
        try:
            tell(self._clocks())
        except Exception:
            log.exception("collection: a statutory clock was not told of an arrival")
