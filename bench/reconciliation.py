"""Reconciliation benchmark: one day of rail transactions reconciled against the ledger, time
per transaction against plain reads of the same ledger transfers, and memory as the day grows.

The ledger is seeded with BatchWriteItem (moto's TransactWriteItems copies the table on every
call, so 10,000 postings would measure moto) into a moto server of its own process, so the
memory traced is the run's alone. The rail is in memory and answers a window newest first, as
Stripe does, so the figure is our reading and matching, not Stripe's paging. Fees are left at
zero here: booking a fee is one ledger posting per charge, whose cost the ledger benchmark
measures.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench import Row

# A day of 10,000 transactions; BENCH_RECONCILIATION_DAY sets another size (moto takes minutes
# for 10,000 on a busy two-core machine: its Query reads the whole table). The memory row
# compares it with a quarter of it: both fill the pages and the hour a run holds.
TRANSACTIONS = int(os.environ.get("BENCH_RECONCILIATION_DAY", "10000"))
SMALLER = max(TRANSACTIONS // 4, 1)
CASES = 200
DAY = date(2026, 11, 2)
START = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # midnight in Beijing


class _Rail:
    """The rail's listing as Stripe answers it: the window asked for, newest first."""

    name = "stripe"

    def __init__(self, transactions: list[Any]) -> None:
        self._transactions = transactions

    def balance_transactions(self, start: datetime, end: datetime) -> Iterator[Any]:
        found = [t for t in self._transactions if start <= t.created_at < end]
        return reversed(found)


def _seed(client: Any, table: str, ledger: Any, count: int) -> list[Any]:
    """``count`` collections into CASES case accounts, written as the ledger writes them."""
    from chalicelib.collection.rail import BalanceKind, RailBalanceTransaction
    from chalicelib.ledger import Leg, Side, SystemAccount, Transfer, TransferCode, TransferPhase
    from chalicelib.ledger.models import GENESIS_HASH, Counters, Entry

    clearing = SystemAccount.PAYMENT_CLEARING.of("CNY")
    accounts = [f"44060426{n:07d}1" for n in range(CASES)]
    for account in accounts:
        ledger.open_case_account(account, case_id=f"case-{account}")
    store = ledger.store
    items: list[dict[str, Any]] = []
    rail: list[Any] = []
    after, previous = Counters(), GENESIS_HASH
    for n in range(count):
        amount = 1_000 + n % 997
        at = START + timedelta(seconds=n * 8)
        transfer = Transfer(
            id=f"collection:pay-{n}",
            phase=TransferPhase.POSTED,
            code=TransferCode.COLLECTION,
            currency="CNY",
            legs=(
                Leg(account_id=clearing, side=Side.DEBIT, amount=amount),
                Leg(account_id=accounts[n % CASES], side=Side.CREDIT, amount=amount),
            ),
            requested_by="rail:stripe",
            metadata={"rail_reference": f"pi_{n:08d}"},
            created_at=at,
        )
        delta = Counters(debits_posted=amount)
        after = after + delta
        entry = Entry(
            account_id=clearing,
            seq=n + 1,
            transfer_id=transfer.id,
            phase=transfer.phase,
            code=transfer.code,
            at=at,
            delta=delta,
            after=after,
            prev_hash=previous,
        ).sealed()
        previous = entry.hash
        items.append(store.new_transfer_item(transfer, "bench", {clearing: n + 1})["Put"]["Item"])
        items.append(store.new_entry_item(entry)["Put"]["Item"])
        rail.append(
            RailBalanceTransaction(
                id=f"txn_{n:08d}",
                kind=BalanceKind.CHARGE,
                reference=f"pi_{n:08d}",
                amount=amount,
                fee=0,
                currency="CNY",
                created_at=at,
            )
        )
    for offset in range(0, len(items), 25):
        request = {table: [{"PutRequest": {"Item": i}} for i in items[offset : offset + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return rail


def _query_only(client: Any, table: str, clearing: str, start: datetime, end: datetime) -> int:
    """The day's entries of payment clearing by Query, raw: no model, matching or writing."""
    from chalicelib.clock import isoformat

    ids: list[str] = []
    args: dict[str, Any] = {
        "TableName": table,
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"STMT#{clearing}"},
            ":a": {"S": isoformat(start)},
            ":b": {"S": isoformat(end)},
        },
        "Limit": 500,
    }
    while True:
        page = client.query(**args)
        ids += [i["sk"]["S"] for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return len(ids)


def _transfer_reads(client: Any, table: str, count: int) -> int:
    read = 0
    keys = [
        {"pk": {"S": f"XFER#collection:pay-{n}"}, "sk": {"S": "TRANSFER"}} for n in range(count)
    ]
    for offset in range(0, len(keys), 100):
        request = {table: {"Keys": keys[offset : offset + 100], "ConsistentRead": True}}
        while request:
            answer = client.batch_get_item(RequestItems=request)
            read += len(answer["Responses"].get(table, []))
            request = answer.get("UnprocessedKeys") or {}
    return read


@contextmanager
def _dynamodb() -> Iterator[Any]:
    """DynamoDB as a moto server in a process of its own: the run's memory is then ours alone
    (moto in process copies what a query reads, which would be measured as ours), and every
    call crosses HTTP as it does to DynamoDB."""
    import boto3

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and moto's module
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield boto3.client("dynamodb", region_name="us-east-1", endpoint_url=url)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _measure(count: int) -> dict[str, float]:
    from chalicelib.clock import FixedClock
    from chalicelib.ledger import LedgerService, SystemAccount
    from chalicelib.reconciliation import ReconciliationService, ReconciliationStore, day_window
    from infra.tables import create_tables, table_names

    names = table_names("bench")
    with _dynamodb() as client:
        create_tables(client, names)
        clock = FixedClock(datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
        ledger = LedgerService(client, names["LEDGER_TABLE"], clock)
        ledger.ensure_system_accounts()
        rail = _seed(client, names["LEDGER_TABLE"], ledger, count)
        service = ReconciliationService(
            _Rail(rail),  # type: ignore[arg-type]
            ledger,
            ReconciliationStore(client, names["OVERSIGHT_TABLE"]),
            clock,
        )
        start, end = day_window(DAY)
        clearing = SystemAccount.PAYMENT_CLEARING.of("CNY")
        assert _transfer_reads(client, names["LEDGER_TABLE"], 10) == 10  # the keys are right

        began = time.perf_counter()
        entries = _query_only(client, names["LEDGER_TABLE"], clearing, start, end)
        query_seconds = time.perf_counter() - began
        began = time.perf_counter()
        _query_only(client, names["LEDGER_TABLE"], clearing, start, end)
        _transfer_reads(client, names["LEDGER_TABLE"], count)
        plain_seconds = time.perf_counter() - began

        began = time.perf_counter()
        result = service.run(DAY, by="bench")
        run_seconds = time.perf_counter() - began
        # Memory in a second run, so that tracing does not slow the timed one.
        tracemalloc.start()
        again = service.run(DAY, by="bench")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        for day in (result, again):
            if (entries, day.matched, day.open_items) != (count, count, 0):
                raise RuntimeError(f"the benchmark day did not reconcile: {day}")
    measured = {
        "query": query_seconds,
        "plain": plain_seconds,
        "run": run_seconds,
        "peak": float(peak),
    }
    print(f"reconciliation, a day of {count:,}: {measured}", file=sys.stderr, flush=True)
    return measured


def run() -> list[Row]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    big = _measure(TRANSACTIONS)
    small = _measure(SMALLER)
    per = big["run"] / TRANSACTIONS
    ratio_plain = big["run"] / big["plain"]
    ratio_query = big["run"] / big["query"]
    growth = big["peak"] / small["peak"]
    return [
        Row(
            "reconciliation",
            f"a day of {TRANSACTIONS:,} rail transactions / plain reads of the same transfers "
            "(Query of the entries + BatchGetItem of the transfers)",
            "≤ 2",
            f"{ratio_plain:.2f} ({per * 1000:.2f} ms per transaction)",
            ratio_plain <= 2,
            "DynamoDB: moto server in its own process; fees at zero",
        ),
        Row(
            "reconciliation",
            "the same / the Query of the day's entries alone",
            "none",
            f"{ratio_query:.2f}",
            None,
            "a transfer's rail reference is on the transfer, not the entry",
        ),
        Row(
            "reconciliation",
            f"peak memory of a run, a day of {TRANSACTIONS:,} against {SMALLER:,}",
            "flat (≤ 1.1)",
            f"{growth:.2f} ({big['peak'] / 1e6:.1f} MB against {small['peak'] / 1e6:.1f} MB)",
            growth <= 1.1,
            "both sides stream; a run holds the unmatched, an hour of the rail, a page a shard",
        ),
    ]
