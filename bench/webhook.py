"""Webhook ingestion benchmark: verify, deduplicate and post one Stripe event, against one raw
conditional UpdateItem on the same moto, with 30% duplicate deliveries.

The events are signed here with the endpoint secret exactly as Stripe signs them, and each
refers to a payment recorded beforehand on a filed case, so a delivery does all the work a real
one does: signature and timestamp check, the PaymentIntent read back from the rail (answered
here in memory, as Stripe answers it for these intents: the network is not what is measured),
one read of the event, the payment, the case's standing and receipt number and the case itself,
and one transaction that holds the ledger transfer, the payment it settles, the case standing,
the receipt number, the creditor's arrival notice and the event recorded; then that notice is
sent to the outbox and marked sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import Row
from bench.calls import names

UNIQUE_EVENTS = 140
DUPLICATE_SHARE = 0.30  # of all deliveries
SEED_ITEMS = 500  # per table, so moto's transaction cost is measured at a realistic size
ENDPOINT_SECRET = "whsec_bench"  # noqa: S105 - a throwaway key for signing local events
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass
class Measured:
    event_times: list[float]
    update_times: list[float]
    transaction_times: list[float]
    calls: dict[str, Counter[str]]
    duplicates: int
    posted: int = 0
    in_calls: float = 0.0  # seconds inside DynamoDB calls during the deliveries


def _seed(client: Any, table: str) -> None:
    items = [
        {"PutRequest": {"Item": {"pk": {"S": f"SEED#{n // 50}"}, "sk": {"S": f"{n:06d}"}}}}
        for n in range(SEED_ITEMS)
    ]
    for start in range(0, len(items), 25):
        client.batch_write_item(RequestItems={table: items[start : start + 25]})


def _event(number: int, payment_id: str, created: int, case: Any) -> bytes:
    intent = {
        "id": f"pi_bench_{number}",
        "object": "payment_intent",
        "amount": 100,
        "currency": "cny",
        "status": "succeeded",
        "created": created,
        "metadata": {
            "payment_id": payment_id,
            "case_account": case.account_number,
            "case_id": case.case_id,
            "court": case.court_code,
        },
    }
    event = {
        "id": f"evt_bench_{number}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": created,
        "data": {"object": intent},
    }
    return json.dumps(event, indent=2, sort_keys=True).encode()


def _signature(body: bytes, timestamp: int) -> dict[str, str]:
    digest = hmac.new(ENDPOINT_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"Stripe-Signature": f"t={timestamp},v1={digest.hexdigest()}"}


FILING: dict[str, Any] = {
    "case_number": "(2026)粤0604执1号",
    "court_code": "粤0604",
    "court_name": "佛山市禅城区人民法院",
    "fund_types": ["enforcement"],
    "adjudicated_amount": 10**12,  # never paid in full: every delivery tells of an arrival
    "parties": [
        {
            "role": "creditor",
            "name": "张三",
            "type": "person",
            "id_number": "440104198001011238",
            "phone": "13812345678",
            "receiving_account": {
                "bank_name": "中国工商银行佛山分行",
                "account_name": "张三",
                "account_number": "6222020200112233445",
            },
        },
        {
            "role": "debtor",
            "name": "佛山某某贸易有限公司",
            "type": "organisation",
            "id_number": "91350100M000100Y43",
            "phone": "13987654321",
        },
    ],
}


def _service(client: Any, names: dict[str, str], scratch: Path) -> tuple[Any, Any, Any]:
    """Collection, the cases and the ledger, wired by hand to one moto client, and the case
    the payments are for."""
    from chalicelib.cases import CaseService
    from chalicelib.cases.models import OpenCase
    from chalicelib.cases.store import CasesStore
    from chalicelib.clock import FixedClock
    from chalicelib.collection import CollectionService, CollectionStore, RailPayment, RailStatus
    from chalicelib.collection.stripe_rail import StripeRail, StripeSettings
    from chalicelib.ledger import LedgerService
    from chalicelib.notifications import OutboxNotifier

    clock = FixedClock(START)
    ledger = LedgerService(client, names["LEDGER_TABLE"], clock)
    ledger.ensure_system_accounts()

    def open_account(number: str, case_id: str, currency: str) -> object:
        return ledger.open_case_account(number, case_id=case_id, currency=currency)

    cases = CaseService(CasesStore(client, names["CASES_TABLE"]), clock, open_account)
    case, _ = cases.open(OpenCase.model_validate(FILING), actor="bench")
    settings = StripeSettings(
        secret_key="sk_bench",  # noqa: S106 - never sent anywhere: retrieves answer in memory
        publishable_key="pk_bench",
        webhook_secrets=(ENDPOINT_SECRET,),
    )

    class AnsweringRail(StripeRail):
        """Stripe as it answers a retrieve of these intents: succeeded, 1.00 yuan, with the
        metadata the pay page attached."""

        def retrieve(self, reference: str) -> RailPayment:
            number = int(reference.removeprefix("pi_bench_"))
            return RailPayment(
                reference=reference,
                amount=100,
                currency="CNY",
                status=RailStatus.SUCCEEDED,
                created_at=START,
                payment_id=f"pay_bench_{number:04d}",
                account_number=case.account_number,
                case_id=case.case_id,
                court_code=case.court_code,
            )

    rail = AnsweringRail(settings, clock=clock)
    service = CollectionService(
        CollectionStore(client, names["COLLECTION_TABLE"]),
        lambda: rail,
        clock,
        cases=cases,
        ledger=ledger,
        notifier=OutboxNotifier(scratch / "outbox.jsonl", clock=clock),
    )
    return service, ledger, case


def _events(service: Any, filed: Any) -> list[bytes]:
    """Payments waiting for their rail's word, and the succeeded event of each."""
    from chalicelib.collection import Payment, PaymentStatus
    from chalicelib.collection.paying import snapshot

    case = snapshot(filed)
    events = []
    for number in range(UNIQUE_EVENTS):
        payment_id = f"pay_bench_{number:04d}"
        payment = Payment(
            payment_id=payment_id,
            case=case,
            amount=100,
            currency="CNY",
            status=PaymentStatus.AWAITING_METHOD,
            rail="stripe",
            created_at=START,
            updated_at=START,
            rail_reference=f"pi_bench_{number}",
        )
        service.store.add_payment(payment, request_digest="bench")
        events.append(_event(number, payment_id, int(START.timestamp()), case))
    return events


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _measure() -> Measured:
    import boto3
    from moto import mock_aws

    from infra.tables import TABLES, create_table_request

    rng = random.Random(7)
    with mock_aws(), tempfile.TemporaryDirectory() as scratch:
        client = boto3.client("dynamodb", region_name="us-east-1")
        names = {spec.env_var: f"courtfunds-bench-{spec.env_var.lower()}" for spec in TABLES}
        for spec in TABLES:
            client.create_table(**create_table_request(spec, names[spec.env_var]))
        service, ledger, case = _service(client, names, Path(scratch))
        events = _events(service, case)
        duplicates = round(UNIQUE_EVENTS * DUPLICATE_SHARE / (1 - DUPLICATE_SHARE))
        deliveries = events + [rng.choice(events) for _ in range(duplicates)]
        rng.shuffle(deliveries)
        table = names["COLLECTION_TABLE"]
        for name in (names["LEDGER_TABLE"], table):
            _seed(client, name)
        raw_key = {"pk": {"S": "RAW"}, "sk": {"S": "RAW"}}
        client.put_item(TableName=table, Item=raw_key | {"n": {"N": "0"}})
        counter = iter(range(10**9))

        def raw_update() -> None:
            n = next(counter)
            client.update_item(
                TableName=table,
                Key=raw_key,
                UpdateExpression="SET n = n + :one",
                ConditionExpression="n = :expected",
                ExpressionAttributeValues={":one": {"N": "1"}, ":expected": {"N": str(n)}},
            )

        def raw_transaction() -> None:
            n = next(counter)
            update = {
                "TableName": table,
                "Key": raw_key,
                "UpdateExpression": "SET n = n + :one",
                "ConditionExpression": "n = :expected",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":expected": {"N": str(n)}},
            }
            client.transact_write_items(TransactItems=[{"Update": update}])

        for _ in range(20):  # warm moto and botocore before timing anything
            raw_update()
        calls: Counter[str] = Counter()
        call_started: list[float] = []
        measured = Measured([], [], [], {"new": Counter(), "duplicate": Counter()}, duplicates)

        def before_call(model: Any, **_: Any) -> None:
            calls.update([model.name])
            call_started.append(time.perf_counter())

        def after_call(**_: Any) -> None:
            measured.in_calls += time.perf_counter() - call_started.pop()

        client.meta.events.register("before-call.dynamodb", before_call)
        client.meta.events.register("after-call.dynamodb", after_call)
        seen: set[bytes] = set()
        delivery_in_calls = 0.0
        for body in deliveries:  # interleaved, so machine noise hits every side alike
            measured.update_times.append(_timed(raw_update))
            measured.transaction_times.append(_timed(raw_transaction))
            calls.clear()
            headers = _signature(body, int(START.timestamp()))
            in_calls_before = measured.in_calls
            measured.event_times.append(
                _timed(lambda b=body, h=headers: service.ingest_webhook(b, h))
            )
            delivery_in_calls += measured.in_calls - in_calls_before
            measured.calls["duplicate" if body in seen else "new"].update(calls)
            seen.add(body)
        measured.in_calls = delivery_in_calls
        measured.posted = ledger.balance(case.account_number).posted
    return measured


def ingestion() -> list[Row]:
    m = _measure()
    total = len(m.event_times)
    event_ms = statistics.mean(m.event_times) * 1000
    update_ms = statistics.median(m.update_times) * 1000
    own_ms = (sum(m.event_times) - m.in_calls) / total * 1000
    transaction_ms = statistics.median(m.transaction_times) * 1000
    new_calls = sum(m.calls["new"].values()) / UNIQUE_EVENTS
    duplicate_calls = sum(m.calls["duplicate"].values()) / m.duplicates
    all_calls = (sum(m.calls["new"].values()) + sum(m.calls["duplicate"].values())) / total
    exactly_once = m.posted == UNIQUE_EVENTS * 100
    return [
        Row(
            area="collection",
            measure="webhook: verify+dedupe+post / raw conditional UpdateItem (moto)",
            goal="-",
            measured=f"{event_ms / update_ms:.1f}",
            met=None,
            note=f"mean of {total} deliveries, {m.duplicates / total:.0%} duplicates: "
            f"{event_ms:.1f} ms vs median {update_ms:.2f} ms; tables seeded to {SEED_ITEMS} items",
        ),
        Row(
            area="collection",
            measure="webhook: collection's own work / raw UpdateItem",
            goal="-",
            measured=f"{own_ms / update_ms:.2f}",
            met=None,
            note=f"{own_ms:.2f} ms per delivery outside DynamoDB calls: signature, JSON, "
            "models, ledger hashing, botocore request building",
        ),
        Row(
            area="collection",
            measure="webhook / one single-item TransactWriteItems (moto)",
            goal="-",
            measured=f"{event_ms / transaction_ms:.1f}",
            met=None,
            note=f"{transaction_ms:.1f} ms each: moto copies the tables per transaction; a new "
            "event makes one (ledger and collection together), which is most of its time",
        ),
        Row(
            area="collection",
            measure="DynamoDB calls per webhook delivery (30% duplicates)",
            goal="-",
            measured=f"{all_calls:.2f}",
            met=None,
            note=f"{UNIQUE_EVENTS} payments posted exactly once: {'yes' if exactly_once else 'NO'}",
        ),
        Row(
            area="collection",
            measure="DynamoDB calls per new succeeded event",
            goal="<= 3",
            measured=f"{new_calls:.2f}",
            met=new_calls <= 3,
            note=names(m.calls["new"], UNIQUE_EVENTS),
        ),
        Row(
            area="collection",
            measure="DynamoDB calls per duplicate delivery",
            goal="1",
            measured=f"{duplicate_calls:.2f}",
            met=duplicate_calls == 1,
            note=names(m.calls["duplicate"], m.duplicates),
        ),
    ]


def run() -> list[Row]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return ingestion()
