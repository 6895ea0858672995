"""Export benchmarks: export speed against a plain paginated Query of the same rows, and the
export's peak memory at two ledger sizes (it must not grow with the rows).

The rows are one case account's entries, a valid hash chain. For speed they are written to moto
with BatchWriteItem (moto copies a table on every TransactWriteItems, so posting them one by one
would take hours). For memory at 10,000, 50,000 and 100,000 entries, the statement's pages come
from ``StatementPages``: the DynamoDB Query the export sends is answered, at botocore's
``before-send`` hook, with the JSON body DynamoDB sends, built a page at a time from the same
chain. botocore parses it and the export reads it as in production, unchanged; every other call
(the account's state, S3, the job) goes to moto. Before measuring, the bench checks on a small
account that these pages are the very pages moto answers for the same entries.
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
# over 100,000 entries takes tens of minutes on a shared two-core machine, and the bench makes
# about twenty passes for speed. So speed is measured at 5,000 entries through moto, and memory
# with the statement's pages answered at the boto3 boundary (``StatementPages``).
SPEED_ROWS = 5_000
MEMORY_SIZES = (10_000, 50_000, 100_000)
FIDELITY_ROWS = 2_500  # pages compared with moto's: two full pages and a short one
MEMORY_FORMATS = ("csv", "xlsx")  # JSON Lines goes through the same sink as CSV, with no state
PAGE = 1000  # the same page size the export reads


def _chain(count: int, *, first: int = 1, prev: str | None = None, totals: Any = None) -> Any:
    """The case account's entries ``first`` .. ``count``, chained as the ledger chains them:
    payments in, one a second. Yields each entry; ``prev`` and ``totals`` are those before it."""
    from chalicelib.ledger.models import (
        GENESIS_HASH,
        Counters,
        Entry,
        TransferCode,
        TransferPhase,
    )

    prev = prev or GENESIS_HASH
    totals = totals or Counters()
    for seq in range(first, count + 1):
        delta = Counters(credits_posted=100 + seq % 900)
        totals = totals + delta
        entry = Entry(
            account_id=CASE, seq=seq, transfer_id=f"pay-{seq}", phase=TransferPhase.POSTED,
            code=TransferCode.COLLECTION, at=START + timedelta(seconds=seq), delta=delta,
            after=totals, prev_hash=prev,
        ).sealed()  # fmt: skip
        prev = entry.hash
        yield entry


def _put_state(client: Any, table: str, last: Any) -> None:
    """The account's state item after its newest entry ``last``."""
    from chalicelib.ledger.models import Account, AccountKind, AccountState
    from chalicelib.ledger.store import account_pk, state_item_values, to_item

    account = Account(
        id=CASE, kind=AccountKind.CASE, currency="CNY", case_id="c", no_overdraft=True,
        created_at=START,
    )  # fmt: skip
    state = AccountState(
        account=account, seq=last.seq, head_hash=last.hash, last_at=last.at, totals=last.after
    )
    client.put_item(
        TableName=table,
        Item={
            "pk": {"S": account_pk(CASE)},
            "sk": {"S": "STATE"},
            **to_item(state_item_values(state)),
        },
    )


def _seed(client: Any, table: str, count: int) -> None:
    """The case account with ``count`` payments in, written to the table."""
    from chalicelib.ledger.store import LedgerStore

    store = LedgerStore(client, table)
    batch: list[dict[str, Any]] = []
    entry = None
    for entry in _chain(count):
        batch.append({"PutRequest": {"Item": store.new_entry_item(entry)["Put"]["Item"]}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})
    assert entry is not None
    _put_state(client, table, entry)


class _Body:
    """A response body as botocore reads it from urllib3."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class StatementPages:
    """The case account's statement as DynamoDB pages it: answers the export's Query for
    ``STMT#{CASE}`` on gsi1 with the JSON body DynamoDB would send (the items the ledger
    writes, ``Limit`` at a time, the GSI's LastEvaluatedKey), built when asked from the chain,
    so a run holds a page as it would from DynamoDB, never the account. Any other Query goes to
    the real endpoint. Where each page starts in the chain (hash and totals before it) is worked
    out once beforehand, outside what is measured."""

    def __init__(self, table: str, count: int) -> None:
        from chalicelib.ledger.models import GENESIS_HASH, Counters

        self.table, self.count = table, count
        self.pages_served = 0
        self._starts: dict[int, tuple[str, Any]] = {1: (GENESIS_HASH, Counters())}
        for entry in _chain(count):
            if entry.seq % PAGE == 0:
                self._starts[entry.seq + 1] = (entry.hash, entry.after)
            self.last = entry

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send.dynamodb.Query", self._answer)

    def detach(self, client: Any) -> None:
        client.meta.events.unregister("before-send.dynamodb.Query", self._answer)

    def _answer(self, request: Any, **_: Any) -> Any:
        import json

        from botocore.awsrequest import AWSResponse

        from chalicelib.ledger.store import LedgerStore

        asked = json.loads(request.body)
        values = asked.get("ExpressionAttributeValues", {})
        if (
            asked.get("TableName") != self.table
            or asked.get("IndexName") != "gsi1"
            or values.get(":pk") != {"S": f"STMT#{CASE}"}
            or asked.get("KeyConditionExpression")
            != "gsi1pk = :pk AND gsi1sk BETWEEN :start AND :end"
        ):
            return None  # not the statement's pages: the real endpoint answers
        after = asked.get("ExclusiveStartKey")
        first = int(after["sk"]["S"].removeprefix("ENTRY#")) + 1 if after else 1
        if first not in self._starts:
            raise AssertionError(f"a page asked from entry {first}, not where a page ends")
        limit = int(asked["Limit"])
        last = min(first + limit - 1, self.count)
        low, high = values[":start"]["S"], values[":end"]["S"]
        prev, totals = self._starts[first]
        store = LedgerStore(None, self.table)
        items = []
        for entry in _chain(last, first=first, prev=prev, totals=totals):
            item = store.new_entry_item(entry)["Put"]["Item"]
            if not low <= item["gsi1sk"]["S"] <= high:
                raise AssertionError("an entry outside the window asked for")
            items.append(item)
        answer: dict[str, Any] = {"Count": len(items), "ScannedCount": len(items), "Items": items}
        if last < self.count:
            answer["LastEvaluatedKey"] = {
                name: items[-1][name] for name in ("pk", "sk", "gsi1pk", "gsi1sk")
            }
        self.pages_served += 1
        body = json.dumps(answer).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "Content-Length": str(len(body))}
        return AWSResponse(request.url, 200, headers, _Body(body))


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


def _pages(client: Any) -> list[dict[str, Any]]:
    """Every page of the statement's Query as the export sends it, as botocore parses it."""
    pages, start_key = [], None
    while True:
        args: dict[str, Any] = {
            "TableName": TABLE,
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
        answer.pop("ResponseMetadata")
        pages.append(answer)
        start_key = answer.get("LastEvaluatedKey")
        if not start_key:
            return pages


def _same_pages_as_moto() -> int:
    """The pages ``StatementPages`` answers are the pages moto answers for the same entries
    written to its table; the number of pages compared."""

    def compare(client: Any, s3: Any, service: Any) -> int:
        from_moto = _pages(client)
        pages = StatementPages(TABLE, FIDELITY_ROWS)
        pages.attach(client)
        try:
            answered = _pages(client)
        finally:
            pages.detach(client)
        if answered != from_moto or pages.pages_served != len(from_moto):
            raise RuntimeError("the statement's pages differ from moto's; memory not measured")
        return len(from_moto)

    return int(_world(FIDELITY_ROWS, compare))


def _peaks(count: int) -> dict[str, int]:
    """Peak memory of a statement export of ``count`` entries in each format (tracemalloc:
    what the export allocates beyond what was there before it started)."""
    import boto3

    from infra.tables import TABLES, create_table_request

    peaks: dict[str, int] = {}
    pages = StatementPages(TABLE, count)
    with _moto_elsewhere() as url, tempfile.TemporaryDirectory() as folder:
        client = boto3.client("dynamodb", endpoint_url=url)
        s3 = boto3.client("s3", endpoint_url=url)
        spec = next(s for s in TABLES if s.env_var == "LEDGER_TABLE")
        client.create_table(**create_table_request(spec, TABLE))
        s3.create_bucket(Bucket=BUCKET)
        _put_state(client, TABLE, pages.last)
        pages.attach(client)
        service = _service(client, s3, f"{folder}/key.pem")
        for fmt in MEMORY_FORMATS:
            served = pages.pages_served
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            _, rows = _export(service, fmt)
            peaks[fmt] = tracemalloc.get_traced_memory()[1] - before
            tracemalloc.stop()
            if rows != count or pages.pages_served - served != -(-count // PAGE):
                raise RuntimeError(f"the {fmt} export read {rows} rows, not {count}")
    print(f"exports, {count:,} entries: peaks {peaks}", file=sys.stderr, flush=True)
    return peaks


def memory() -> list[Row]:
    compared = _same_pages_as_moto()
    peaks = {count: _peaks(count) for count in MEMORY_SIZES}
    smallest = MEMORY_SIZES[0]
    rows = []
    for fmt in MEMORY_FORMATS:
        base = peaks[smallest][fmt]
        for count in MEMORY_SIZES[1:]:
            peak = peaks[count][fmt]
            growth = peak / base - 1
            rows.append(
                Row(
                    area="exports",
                    measure=f"{fmt} export peak memory, {count:,} / {smallest:,} entries",
                    goal="within 10%",
                    measured=f"{growth:+.1%}",
                    met=abs(growth) <= 0.10,
                    note=f"{base / 2**20:.1f} MiB vs {peak / 2**20:.1f} MiB (tracemalloc); "
                    "DynamoDB's pages answered at botocore's before-send, checked equal to "
                    f"moto's on {compared} pages; S3 on moto in another process",
                )
            )
    return rows


def run() -> list[Row]:
    return speed() + memory()
