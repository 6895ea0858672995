"""Counting money toward a case: the one step every way money reaches a case shares (online
settlement, a claim of unidentified money, counter cash).

The case's standing (paid, remaining, paid in full) moves in the same conditional transaction
as the record that caused it; when another payment of the case got there first, the standing is
read again and the step retried, with jittered backoff, a bounded number of times, never waiting
into the last moments of the Lambda invocation (it answers busy then, a 503 to repeat). Every
count owes the case's creditors a notice: of the money arrived (案款到账通知), or that the case is
paid in full when this money crosses what is owed (that one message instead of both). It is written
in that transaction, keyed by the arrival's ledger transfer, and sent after it. The clock for
telling the creditor (5 working days) starts in that transaction too, so no money counts on a
case without its clock, whatever crashes after.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.clock import Clock
from chalicelib.collection.arrivals import Arrival, ClockTeller
from chalicelib.collection.errors import CollectionBusy
from chalicelib.collection.models import CaseSnapshot, CaseStanding, Notice, SurplusDraft
from chalicelib.collection.notices import MONEY_ARRIVED, PAID_IN_FULL, Notices
from chalicelib.collection.store import Contended
from chalicelib.retry import Backoff

if TYPE_CHECKING:
    from chalicelib.cases import Case

MAX_ATTEMPTS = 6

Read = TypeVar("Read")


@dataclass(frozen=True)
class Credit:
    """A case's standing after a payment, with the surplus draft and the creditors' notice
    the payment brings about."""

    standing: CaseStanding
    surplus: SurplusDraft | None
    notice: Notice
    clock: dict[str, Any] | None = None  # the notice clock's start, committed with the count


class Counting:
    """Counts money toward cases; safe to share."""

    def __init__(
        self,
        clock: Clock,
        notices: Notices,
        clocks: ClockTeller,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._notices = notices
        self._clocks = clocks
        self._backoff = Backoff(base=0.005, cap=0.1, sleep=sleep, rng=rng)

    def count_toward_case(
        self,
        arrival: Arrival,
        source: str,
        *,
        read: Callable[[], Read],
        standing_of: Callable[[Read], CaseStanding],
        commit: Callable[[Read, Credit], bool],
        case: Case | None = None,
    ) -> bool:
        """Count the money of ``arrival`` (from ``source``, a payment id or transfer id) toward
        its case, and tell the statutory clocks once it counts.

        ``read`` reads what the transaction guards (at least the standing, which
        ``standing_of`` picks out); ``commit`` writes the caller's record with the credit in
        one conditional transaction, answering False if the record was written before (then
        nothing is counted again) or raising ``Contended`` if a guarded item moved. ``case``
        is the case as already read, for the notice. Returns whether this call counted it."""
        clock = self._clocks.start_item(arrival)
        for attempt in range(MAX_ATTEMPTS):
            before = read()
            credit = replace(self.credit(arrival, standing_of(before), source), clock=clock)
            try:
                done = commit(before, credit)
            except Contended:
                if not self._backoff.pause(attempt):
                    break  # the invocation's time is nearly up: answer rather than time out
                continue
            if done:
                self._clocks.counted(arrival, clock_started=clock is not None)
                self._notices.send(credit.notice, case=case)
            return done
        raise CollectionBusy("the case is settling many payments at once; try again")

    def credit(self, arrival: Arrival, before: CaseStanding, source: str) -> Credit:
        """The case's standing after ``arrival`` counts, with the surplus draft and the notice
        to the creditors that it brings about."""
        case, amount = arrival.case, arrival.amount
        now = self._clock.now()
        owed = case.adjudicated_amount
        crosses = before.paid < owed <= before.paid + amount
        standing = before.model_copy(
            update={
                "paid": before.paid + amount,
                "payments": before.payments + 1,
                "version": before.version + 1,
                "last_paid_at": now,
                "paid_in_full_at": now if crosses else before.paid_in_full_at,
            }
        )
        excess = standing.surplus(owed)
        surplus = None
        if excess > 0:
            surplus = SurplusDraft(
                case_id=case.case_id,
                account_number=case.account_number,
                amount=excess,
                currency=case.currency,
                last_payment_id=source,
                updated_at=now,
            )
        return Credit(standing, surplus, _notice(case, arrival, standing, crosses, now))


def _notice(
    case: CaseSnapshot, arrival: Arrival, standing: CaseStanding, crosses: bool, now: datetime
) -> Notice:
    """Paid in full once per case; otherwise one arrival notice per ledger transfer, so a
    count retried after a race writes the same notice and one counted again writes none."""
    if crosses:
        return Notice(
            key=f"{PAID_IN_FULL}:{case.case_id}",
            kind=PAID_IN_FULL,
            case_id=case.case_id,
            created_at=now,
        )
    return Notice(
        key=f"{MONEY_ARRIVED}:{case.case_id}:{arrival.transfer_id}",
        kind=MONEY_ARRIVED,
        case_id=case.case_id,
        created_at=now,
        amount=arrival.amount,
        paid=standing.paid,
    )
