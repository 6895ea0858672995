"""Export benchmarks: export speed against a plain paginated Query of the same rows, and the
export's peak memory at two ledger sizes (it must not grow with the rows).

The rows are one case account's entries, a valid hash chain written with BatchWriteItem (moto
copies a table on every TransactWriteItems, so posting them one by one would take hours).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Row

ROOT = Path(__file__).resolve().parent.parent

TABLE = "courtfunds-bench-ledger"
BUCKET = "courtfunds-bench-exports"
CASE = "4406042600000011"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# moto spends milliseconds on each item it returns (its response serializer walks botocore's
# shape model for every attribute), against microseconds for the export's own work: a pass
# over 100,000 entries takes minutes on a shared two-core machine, and the bench makes about
# twenty passes for speed. So speed is measured at 5,000 entries, and memory at 10,000 and
# 50,000, or at 10,000 and 100,000 with BENCH_FULL=1.
SPEED_ROWS = 5_000
MEMORY_SIZES = (10_000, 100_000) if os.environ.get("BENCH_FULL") == "1" else (10_000, 50_000)
MEMORY_FORMATS = ("csv", "xlsx")  # JSON Lines goes through the same sink as CSV, with no state
PAGE = 1000  # the same page size the export reads


def _seed(client: Any, table: str, count: int) -> None:
    """The case account with ``count`` payments in, chained as the ledger chains them."""
    from chalicelib.ledger.models import (
        GENESIS_HASH,
        Account,
        AccountKind,
        AccountState,
        Counters,
        Entry,
        TransferCode,
        TransferPhase,
    )
    from chalicelib.ledger.store import LedgerStore, account_pk, state_item_values, to_item

    store = LedgerStore(client, table)
    account = Account(
        id=CASE, kind=AccountKind.CASE, currency="CNY", case_id="c", no_overdraft=True,
        created_at=START,
    )  # fmt: skip
    prev, totals, batch = GENESIS_HASH, Counters(), []
    entry = None
    for seq in range(1, count + 1):
        delta = Counters(credits_posted=100 + seq % 900)
        totals = totals + delta
        entry = Entry(
            account_id=CASE, seq=seq, transfer_id=f"pay-{seq}", phase=TransferPhase.POSTED,
            code=TransferCode.COLLECTION, at=START + timedelta(seconds=seq), delta=delta,
            after=totals, prev_hash=prev,
        ).sealed()  # fmt: skip
        prev = entry.hash
        batch.append({"PutRequest": {"Item": store.new_entry_item(entry)["Put"]["Item"]}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})
    assert entry is not None
    state = AccountState(
        account=account, seq=count, head_hash=prev, last_at=entry.at, totals=totals
    )
    client.put_item(
        TableName=table,
        Item={
            "pk": {"S": account_pk(CASE)},
            "sk": {"S": "STATE"},
            **to_item(state_item_values(state)),
        },
    )


def _plain_query(client: Any, table: str) -> int:
    """The baseline: the same rows through a paginated Query, nothing done with them."""
    rows, start_key = 0, None
    while True:
        args: dict[str, Any] = {
            "TableName": table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"STMT#{CASE}"},
                ":start": {"S": "2026-01-01"},
                ":end": {"S": "2027-01-01"},
            },
            "Limit": PAGE,
        }
        if start_key:
            args["ExclusiveStartKey"] = start_key
        answer = client.query(**args)
        rows += len(answer["Items"])
        start_key = answer.get("LastEvaluatedKey")
        if not start_key:
            return rows


def _service(client: Any, s3: Any, key_file: str) -> Any:
    from chalicelib.audit.anchor import AnchorBucket
    from chalicelib.audit.publisher import DigestPublisher
    from chalicelib.audit.signing import LocalKeySigner
    from chalicelib.clock import FixedClock
    from chalicelib.exports.service import ExportService, ThreadRunner
    from chalicelib.ledger import LedgerService
    from chalicelib.ledger.listing import LedgerListing

    clock = FixedClock(START + timedelta(days=3))
    ledger = LedgerService(client, TABLE, clock)
    listing = LedgerListing(ledger.store)
    digests = DigestPublisher(
        listing, AnchorBucket(s3, BUCKET, retention_days=1), LocalKeySigner(key_file), clock,
        ledger_name="bench",
    )  # fmt: skip
    return ExportService(
        ledger, listing, s3, BUCKET, clock, digests=digests, runner=ThreadRunner(lambda _: None),
        direct_rows=0, link_seconds=900,
    )  # fmt: skip


def _export(service: Any, fmt: str) -> tuple[float, int]:
    """Seconds to make a statement of every entry, and the rows it holds."""
    from chalicelib.exports.models import ExportFormat, ExportKind, ExportRequest

    request = ExportRequest(
        kind=ExportKind.STATEMENT, format=ExportFormat(fmt), account=CASE,
        start=START, end=START + timedelta(days=2),
    )  # fmt: skip
    job = service.request(request, requested_by="bench")
    began = time.perf_counter()
    done = service.run(job.id)
    return time.perf_counter() - began, done.rows_written


@contextmanager
def _moto_elsewhere() -> Iterator[str]:
    """moto in its own process, so the export's memory is measured without moto's tables and
    stored objects (DynamoDB and S3 are not in a Lambda's memory either)."""
    code = (
        "from infra.moto_server import start_moto_server; import sys, time; "
        "server, url = start_moto_server(); print(url, flush=True); time.sleep(86400)"
    )
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()


def _world(count: int, work: Any) -> Any:
    import boto3

    from infra.tables import TABLES, create_table_request

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with _moto_elsewhere() as url, tempfile.TemporaryDirectory() as folder:
        client = boto3.client("dynamodb", endpoint_url=url)
        s3 = boto3.client("s3", endpoint_url=url)
        spec = next(s for s in TABLES if s.env_var == "LEDGER_TABLE")
        client.create_table(**create_table_request(spec, TABLE))
        s3.create_bucket(Bucket=BUCKET)
        _seed(client, TABLE, count)
        return work(client, s3, _service(client, s3, f"{folder}/key.pem"))


def speed() -> list[Row]:
    def measure(client: Any, s3: Any, service: Any) -> list[Row]:
        rows = []
        for fmt in ("csv", "xlsx", "jsonl"):
            # best of three, interleaved: the machine is shared, and noise only ever slows
            query_seconds = export_seconds = float("inf")
            for _ in range(3):
                began = time.perf_counter()
                queried = _plain_query(client, TABLE)
                query_seconds = min(query_seconds, time.perf_counter() - began)
                seconds, exported = _export(service, fmt)
                export_seconds = min(export_seconds, seconds)
            assert exported == queried == SPEED_ROWS
            ratio = (exported / export_seconds) / (queried / query_seconds)
            rows.append(
                Row(
                    area="exports",
                    measure=f"{fmt} export rows/s / plain paginated Query rows/s",
                    goal=">= 0.8",
                    measured=f"{ratio:.2f}",
                    met=ratio >= 0.8,
                    note=f"{SPEED_ROWS:,} entries on moto, best of 3: "
                    f"{exported / export_seconds:,.0f} vs {queried / query_seconds:,.0f} rows/s",
                )
            )
        return rows

    return list(_world(SPEED_ROWS, measure))


def memory() -> list[Row]:
    peaks: dict[tuple[str, int], int] = {}
    for count in MEMORY_SIZES:

        def measure(client: Any, s3: Any, service: Any, count: int = count) -> None:
            for fmt in MEMORY_FORMATS:
                tracemalloc.start()
                before = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
                _, rows = _export(service, fmt)
                peaks[fmt, count] = tracemalloc.get_traced_memory()[1] - before
                tracemalloc.stop()
                assert rows == count

        _world(count, measure)
    small_size, large_size = MEMORY_SIZES
    rows = []
    for fmt in MEMORY_FORMATS:
        small, large = peaks[fmt, small_size], peaks[fmt, large_size]
        growth = large / small - 1
        rows.append(
            Row(
                area="exports",
                measure=f"{fmt} export peak memory, {large_size:,} / {small_size:,} entries",
                goal="within 10%",
                measured=f"{growth:+.1%}",
                met=abs(growth) <= 0.10,
                note=f"{small / 2**20:.1f} MiB vs {large / 2**20:.1f} MiB (tracemalloc, moto in "
                "another process); rows stream in pages into 5 MiB parts",
            )
        )
    return rows


def run() -> list[Row]:
    return speed() + memory()
