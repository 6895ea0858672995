"""What collection tells the statutory clocks (执行款 time limits): money counted on a case, money
nobody could place (不明款), and the creditor told. The deadlines capability answers it; the
composition root hands it in, so collection depends on no clock."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.collection.models import UnidentifiedPayment


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
