"""Balance transactions from Stripe: at the SDK's HTTP boundary for the paging, expansion and
every kind, and against the local stand-in for a real payment reconciled end to end."""

from __future__ import annotations

import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib import wiring
from chalicelib.collection import CollectionService
from chalicelib.collection.models import StartPayment
from chalicelib.collection.rail import BalanceKind
from chalicelib.ledger import SystemAccount
from chalicelib.reconciliation import DayStatus, ReconciliationService, ReconciliationStore
from chalicelib.workdays import court_date
from tests.collection.conftest import open_case, pay_at_rail
from tests.collection.test_stripe_rail import NOW, RecordingHTTP, rail


def page(*data: dict[str, Any], more: bool = False) -> tuple[int, dict[str, Any]]:
    return 200, {
        "object": "list",
        "url": "/v1/balance_transactions",
        "has_more": more,
        "data": list(data),
    }


def txn(id: str, type: str, amount: int, source: Any, fee: int = 0) -> dict[str, Any]:
    return {
        "id": id,
        "object": "balance_transaction",
        "type": type,
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": "cny",
        "source": source,
        "created": int(NOW.timestamp()),
    }


def test_balance_transactions_are_listed_for_the_window_with_their_sources() -> None:
    http = RecordingHTTP(
        page(
            txn(
                "txn_1",
                "charge",
                40_000,
                {"id": "ch_1", "object": "charge", "payment_intent": "pi_1"},
                fee=240,
            ),
            txn("txn_2", "refund", -5_000, {"id": "re_1", "object": "refund"}),
            more=True,
        ),
        page(
            txn("txn_3", "payout", -30_000, "po_1"),
            txn("txn_4", "adjustment", -1_500, "du_1"),
        ),
    )
    start = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)
    found = list(rail(http).balance_transactions(start, start + timedelta(days=1)))
    assert [(t.kind, t.reference, t.amount, t.fee, t.net) for t in found] == [
        (BalanceKind.CHARGE, "pi_1", 40_000, 240, 39_760),
        (BalanceKind.REFUND, "re_1", -5_000, 0, -5_000),
        (BalanceKind.PAYOUT, "po_1", -30_000, 0, -30_000),
        (BalanceKind.ADJUSTMENT, "du_1", -1_500, 0, -1_500),
    ]
    assert {t.currency for t in found} == {"CNY"}
    first, second = (parse_qs(urlsplit(r["url"]).query) for r in http.requests)
    assert first["created[gte]"] == [str(int(start.timestamp()))]
    assert first["created[lt]"] == [str(int(start.timestamp()) + 86_400)]
    assert first["expand[0]"] == ["data.source"]
    assert first["limit"] == ["100"]
    assert second["starting_after"] == ["txn_2"]


def book_fee(localstripe_url: str, transaction_id: str, fee: int) -> None:
    data = urllib.parse.urlencode({"fee": fee}).encode()
    url = f"{localstripe_url}/_local/balance_transactions/{transaction_id}/fee"
    request = urllib.request.Request(  # noqa: S310 - the local stand-in
        url, data=data, headers={"Authorization": "Bearer sk_test_local"}
    )
    urllib.request.urlopen(request, timeout=5).close()  # noqa: S310


def test_a_day_at_the_local_stand_in_reconciles_with_its_fee(
    collection: CollectionService, localstripe: str, aws: Any
) -> None:
    case = open_case(amount=50_000)
    step = collection.start_payment(
        case.account_number, StartPayment(amount=40_000), idempotency_key=None
    )
    reference = step.payment.rail_reference
    assert reference is not None
    pay_at_rail(localstripe, reference)
    collection.sweep()  # the payment is posted as collection posts it
    now = datetime.now(UTC)
    stripe_rail = wiring.payment_rail()
    listed = [
        t
        for t in stripe_rail.balance_transactions(now - timedelta(hours=1), now + timedelta(1))
        if t.reference == reference
    ]
    assert [(t.kind, t.amount, t.currency) for t in listed] == [(BalanceKind.CHARGE, 40_000, "CNY")]
    book_fee(localstripe, listed[0].id, 240)
    store = ReconciliationStore(aws, wiring.table_name("OVERSIGHT_TABLE"))
    service = ReconciliationService(stripe_rail, wiring.ledger_service(), store, wiring.clock())
    day = court_date(listed[0].created_at)
    result = service.run(day, by="finance-1")
    items = store.items("CNY", day)
    ours = [i for i in items if reference in i.reference]
    assert ours == []  # matched one by one
    assert result.fees_booked_fen >= 240
    fees_booked = [f.amount for f in service.fees(day) if f.rail_transaction == listed[0].id]
    assert fees_booked == [240]
    fees = wiring.ledger_service().balance(SystemAccount.RAIL_FEES.of("CNY")).posted
    assert fees == -240
    if not items:  # the stand-in holds only this test's money
        assert result.status is DayStatus.BALANCED
