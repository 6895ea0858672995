"""What collection tells the statutory clocks (执行款 time limits): money counted on a case, money
nobody could place (不明款), and the creditor told. The deadlines capability answers it; the
composition root hands it in, so collection depends on no clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

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

    def arrival_clock_item(
        self,
        *,
        case_id: str,
        court: str,
        transfer_id: str,
        amount: int,
        arrived_at: datetime,
    ) -> dict[str, Any]:
        """The same clock's start as one item of the TransactWriteItems that counts the money,
        so no arrival counts without its clock."""
        ...

    def claimed(self, reference: str, *, at: datetime) -> object:
        """Money nobody could place was claimed to a case: its claim clock is met."""
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
    """Tells the statutory clocks what collection did. The notice clock of money counted on a
    case starts in the transaction that counts it (``start_item``); what the clocks hear after
    a commit is logged when it cannot be written and never undoes or fails the payment."""

    def __init__(self, clocks: Callable[[], ArrivalClocks] | None) -> None:
        self._clocks = clocks  # built on the first arrival: the pay page never needs them

    def start_item(self, arrival: Arrival) -> dict[str, Any] | None:
        """The notice clock's start, for the transaction that counts ``arrival``; None without
        clocks, or if the clock could not be computed (then ``counted`` starts it after the
        commit, as a separate write)."""
        if self._clocks is None:
            return None
        try:
            return self._clocks().arrival_clock_item(
                case_id=arrival.case.case_id,
                court=arrival.case.court_code,
                transfer_id=arrival.transfer_id,
                amount=arrival.amount,
                arrived_at=arrival.arrived_at,
            )
        except Exception:
            log.exception("collection: the notice clock of an arrival could not be computed")
            return None

    def counted(self, arrival: Arrival, *, clock_started: bool) -> None:
        """Money counted on a case: a claim meets the claim clock of the money it placed, and
        a notice clock that was not in the count's transaction is started now."""
        if arrival.claimed_reference is not None:
            reference = arrival.claimed_reference
            self._tell(lambda clocks: clocks.claimed(reference, at=arrival.arrived_at))
        if clock_started:
            return
        self._tell(
            lambda clocks: clocks.arrived(
                case_id=arrival.case.case_id,
                court=arrival.case.court_code,
                transfer_id=arrival.transfer_id,
                amount=arrival.amount,
                arrived_at=arrival.arrived_at,
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
