"""Refunds on one DynamoDB client, with a case account funded by one online payment to refund
from: the set-up the refund races (``tests/refunds/test_races.py``) and the refunds bench share.
The rail answers every refund at once, so only the refunds, the approvals and the ledger act."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.approvals import ApprovalService, ApprovalStore, default_chains
from chalicelib.clock import Clock
from chalicelib.collection import RailRefund, RailRefundEvent, RefundStatus
from chalicelib.ledger import LedgerService, SystemAccount, TransferCode, TransferRequest
from chalicelib.refunds import RefundService
from chalicelib.refunds.models import RefundSource, SourceKind
from chalicelib.refunds.payback import Payback
from chalicelib.refunds.sources import Sources
from chalicelib.refunds.store import RefundStore
from infra.tables import TABLES, create_table_request

ACCOUNT = "4406042600000016"


class InstantRail:
    """The rail side of a refund answered at once; the Stripe adapter has its own tests."""

    name = "instant"

    def __init__(self) -> None:
        self.made: dict[str, RailRefund] = {}

    def refund(self, payment_reference: str, *, key: str, amount: int, currency: str) -> RailRefund:
        made = RailRefund(
            reference=f"re_{key}",
            payment_reference=payment_reference,
            amount=amount,
            currency=currency,
            status=RefundStatus.SUCCEEDED,
            key=key,
        )
        self.made[made.reference] = made
        return made

    def retrieve_refund(self, reference: str) -> RailRefund:
        return self.made[reference]

    def parse_refund_event(self, raw_body: bytes, headers: Mapping[str, str]) -> RailRefundEvent:
        """An event ``{"id": ..., "refund": <reference>}``, unsigned: the bench counts calls."""
        event = json.loads(raw_body)
        return RailRefundEvent(event["id"], "refund.updated", self.made.get(event["refund"]))


@dataclass(frozen=True)
class RefundDesk:
    """The refund service and the parts a caller looks into: the ledger, the payback (its
    sweep) and the refund store (what a payment holds)."""

    refunds: RefundService
    ledger: LedgerService
    payback: Payback
    store: RefundStore


def create_tables(client: Any, names: Mapping[str, str]) -> None:
    """The tables named in ``names`` (by the variable that names each), as infra defines them."""
    for spec in TABLES:
        if spec.env_var in names:
            client.create_table(**create_table_request(spec, names[spec.env_var]))


def refund_desk(
    client: Any,
    names: Mapping[str, str],
    clock: Clock,
    *,
    due_after: Callable[[datetime, int], datetime],
    ledger_attempts: int | None = None,
) -> RefundDesk:
    """Refunds decided by the default chains, paid back on the instant rail, posted in the
    ledger; ``due_after`` is the working-day calendar the approvals count due times on."""
    store = RefundStore(client, names["REFUNDS_TABLE"])
    instant = InstantRail()
    attempts = {} if ledger_attempts is None else {"max_attempts": ledger_attempts}
    ledger = LedgerService(client, names["LEDGER_TABLE"], clock, **attempts)
    approvals = ApprovalService(
        ApprovalStore(client, names["APPROVALS_TABLE"]),
        clock,
        default_chains(),
        overdue_working_days=2,
        due_after=due_after,
    )
    payback = Payback(
        store,
        clock,
        ledger=ledger,
        rail=lambda: instant,  # type: ignore[arg-type,return-value]
        tell_payer=lambda refund: None,
    )
    refunds = RefundService(
        store, clock, approvals=approvals, sources=Sources.__new__(Sources), payback=payback
    )
    return RefundDesk(refunds=refunds, ledger=ledger, payback=payback, store=store)


def funded_payment(
    ledger: LedgerService, *, reference: str, amount: int, case_id: str, at: datetime
) -> RefundSource:
    """A case account that received one online payment of ``amount`` fen (``collection:`` +
    ``reference`` in the ledger), as the refund source that payment is."""
    ledger.ensure_system_accounts()
    ledger.open_case_account(ACCOUNT, case_id=case_id)
    ledger.transfer(
        TransferRequest.between(
            id=f"collection:{reference}",
            debit=SystemAccount.PAYMENT_CLEARING.of("CNY"),
            credit=ACCOUNT,
            amount=amount,
            code=TransferCode.COLLECTION,
            requested_by="set-up",
        )
    )
    return RefundSource(
        kind=SourceKind.ONLINE,
        reference=reference,
        paid=amount,
        currency="CNY",
        court="粤0604",
        ledger_account=ACCOUNT,
        case_id=case_id,
        rail_reference=f"pi_{reference}",
        received_at=at,
    )
