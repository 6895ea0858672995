"""Online collection's facade: the pay page, webhooks and the sweeper, settlement, money two
people decided (claims, counter cash), and notices, over one collection table, one payment
rail, the cases and the ledger.

Each job lives in its own module: ``paying`` (the pay page), ``intake`` (webhooks and the
sweeper), ``settlement`` (a succeeded rail payment posted and counted once), ``confirmed``
(claims and counter cash acted on), ``counting`` (the one step that counts money toward a
case) and ``notices``. This class wires them, so routes and other capabilities hold one object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import Clock
from chalicelib.collection.arrivals import ArrivalClocks, ClockTeller
from chalicelib.collection.confirmed import ConfirmedMoney
from chalicelib.collection.counting import Counting
from chalicelib.collection.intake import Intake
from chalicelib.collection.models import (
    CashEntry,
    ClaimStatus,
    CounterCash,
    MalformedEventRecord,
    Payment,
    ReviewItem,
    Settlement,
    StartPayment,
    SurplusDraft,
    SweepReport,
    UnidentifiedPayment,
)
from chalicelib.collection.notices import Notices
from chalicelib.collection.paying import CaseOverview, Paying, PaymentStep
from chalicelib.collection.rail import BrowserSetup, PaymentRail, RailPayment
from chalicelib.collection.settlement import Settling
from chalicelib.collection.store import CollectionStore
from chalicelib.notifications import Notifier

if TYPE_CHECKING:
    from chalicelib.cases import CaseService
    from chalicelib.ledger import LedgerService


class CollectionService:
    """Online collection. Safe to share: every write that can race is conditional."""

    def __init__(
        self,
        store: CollectionStore,
        rail: Callable[[], PaymentRail],
        clock: Clock,
        *,
        cases: CaseService,
        ledger: LedgerService,
        notifier: Notifier,
        sweep_lookback: timedelta = timedelta(days=3),
        max_payment_multiple: int = 2,
        clocks: Callable[[], ArrivalClocks] | None = None,
    ) -> None:
        self.store = store
        self._rail = rail
        teller = ClockTeller(clocks)
        self.notices = Notices(store, cases, notifier, clock, teller)
        counting = Counting(clock, self.notices, teller)
        self.settling = Settling(
            store, rail, clock, ledger=ledger, counting=counting, clocks=teller
        )
        self.paying = Paying(
            store,
            rail,
            clock,
            cases=cases,
            settling=self.settling,
            max_payment_multiple=max_payment_multiple,
        )
        self.intake = Intake(
            store,
            rail,
            clock,
            settling=self.settling,
            paying=self.paying,
            notices=self.notices,
            sweep_lookback=sweep_lookback,
        )
        self.confirmed = ConfirmedMoney(store, clock, cases=cases, ledger=ledger, counting=counting)

    @property
    def rail(self) -> PaymentRail:
        """Built on first use: staff reading queues never need the rail's keys."""
        return self._rail()

    # -- the pay page ------------------------------------------------------------------------

    def overview(self, account_number: str) -> CaseOverview:
        return self.paying.overview(account_number)

    def standing_of_case(self, case_id: str) -> CaseOverview:
        return self.paying.standing_of_case(case_id)

    def start_payment(
        self,
        account_number: str,
        request: StartPayment,
        *,
        idempotency_key: str | None,
        client: str = "",
    ) -> PaymentStep:
        return self.paying.start_payment(
            account_number, request, idempotency_key=idempotency_key, client=client
        )

    def confirm_card(self, payment_id: str, card_token: str) -> PaymentStep:
        return self.paying.confirm_card(payment_id, card_token)

    def payment(self, payment_id: str) -> Payment:
        return self.paying.payment(payment_id)

    def refresh(self, payment_id: str) -> Payment:
        return self.paying.refresh(payment_id)

    def receipt(self, payment_id: str) -> Payment:
        return self.paying.receipt(payment_id)

    def payments_of_case(self, case_id: str) -> list[Payment]:
        return self.paying.payments_of_case(case_id)

    def browser_setup(self) -> BrowserSetup:
        return self.paying.browser_setup()

    # -- staff queues ------------------------------------------------------------------------

    def unidentified_queue(self, status: ClaimStatus, *, limit: int) -> list[UnidentifiedPayment]:
        """不明款 in a claim status, oldest first."""
        return self.store.unidentified_queue(status, limit=limit)

    def review_queue(self, *, limit: int) -> list[ReviewItem]:
        """Payments that could not be posted as they came, oldest first."""
        return self.store.review_queue(limit=limit)

    def surplus_drafts(self, *, limit: int) -> list[SurplusDraft]:
        """Cases paid beyond what they owe, newest first: the refunds workflow's inbox."""
        return self.store.surplus_drafts(limit=limit)

    def malformed_events(self, *, limit: int) -> list[MalformedEventRecord]:
        """Signed rail events of a shape not acted on, newest first, for finance to review."""
        return self.store.malformed_events(limit=limit)

    # -- the rail's notices, settlement, decided money, notices ------------------------------

    def ingest_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        return self.intake.ingest_webhook(raw_body, headers)

    def sweep(self) -> SweepReport:
        return self.intake.sweep()

    def settle(self, current: RailPayment) -> Settlement:
        return self.settling.settle(current)

    def claim(
        self,
        reference: str,
        *,
        account_number: str,
        reason: str,
        actor: str,
        confirmed_by: str,
        confirmer_subject: str,
    ) -> UnidentifiedPayment:
        return self.confirmed.claim(
            reference,
            account_number=account_number,
            reason=reason,
            actor=actor,
            confirmed_by=confirmed_by,
            confirmer_subject=confirmer_subject,
        )

    def count_counter_cash(self, cash: CashEntry, *, confirmed_by: str) -> CounterCash:
        return self.confirmed.count_counter_cash(cash, confirmed_by=confirmed_by)

    def send_pending_notices(self) -> int:
        return self.notices.send_pending()
