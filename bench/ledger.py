"""Ledger benchmarks: cold start, the cost of one posting, and DynamoDB calls per posting.

Every figure is a ratio against a baseline measured in the same process (or the same
machine, for the cold start), so the table means the same on a laptop and in CI.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import Row
from bench.calls import WRITES, counting, names

ROOT = Path(__file__).resolve().parent.parent
COLD_RUNS = 7
POSTINGS = 40
# Extra items seeded before timing postings; the first size is the goal's, the others show how
# moto's TransactWriteItems cost grows with table size (DynamoDB's does not).
TABLE_SIZES = (0, 100, 500)
TABLE = "courtfunds-bench-ledger"
CASE = "4406042600000011"
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})

_TIMER = "import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
_BASELINE = "import chalice.app, boto3"
_FIRST_CLIENT = "; boto3.client('dynamodb')"
_APP_FIRST_CLIENT = "import app; from chalicelib import wiring; wiring.dynamodb()"
_APP_LEDGER_FIRST = (
    _APP_FIRST_CLIENT + "; from chalicelib import route_map; "
    "route_map.loaded('chalicelib.ledger.routes')"
)


def _seconds(code: str) -> float:
    """How long ``code`` takes in a fresh interpreter, interpreter start-up excluded."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "-c", _TIMER.format(code=code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def cold_start() -> list[Row]:
    """Importing ``app`` in a fresh interpreter against importing chalice and boto3 alone;
    then the same with the first DynamoDB client built, since the app imports boto3 only when
    a request first needs it; and what the first request to a ledger route adds: the app
    registers every route from its route map and imports a capability on its first request."""
    # warm the file cache and write bytecode, as chalice and boto3 have theirs installed
    _seconds(_APP_LEDGER_FIRST)
    sides: dict[str, list[float]] = {"base": [], "app": [], "base+": [], "app+": [], "ledger": []}
    for _ in range(COLD_RUNS):  # interleaved, so machine noise hits every side alike
        sides["base"].append(_seconds(_BASELINE))
        sides["app"].append(_seconds("import app"))
        sides["base+"].append(_seconds(_BASELINE + _FIRST_CLIENT))
        sides["app+"].append(_seconds(_APP_FIRST_CLIENT))
        sides["ledger"].append(_seconds(_APP_LEDGER_FIRST))
    ms = {side: statistics.median(times) * 1000 for side, times in sides.items()}
    whole = ms["app"] / ms["base"]
    first = ms["app+"] / ms["base+"]
    return [
        Row(
            area="ledger",
            measure="cold start: import app / import chalice+boto3",
            goal="<= 1.2",
            measured=f"{whole:.2f}",
            met=whole <= 1.2,
            note=f"median of {COLD_RUNS}: {ms['app']:.0f} ms vs {ms['base']:.0f} ms; "
            "every route registered from the route map; boto3 loads on first use",
        ),
        Row(
            area="ledger",
            measure="cold start with the first DynamoDB client, same ratio",
            goal="<= 1.2",
            measured=f"{first:.2f}",
            met=first <= 1.2,
            note=f"{ms['app+']:.0f} ms vs {ms['base+']:.0f} ms",
        ),
        Row(
            area="ledger",
            measure="cold start, first client, ledger routes loaded / chalice+boto3+client",
            goal="-",
            measured=f"{ms['ledger'] / ms['base+']:.2f}",
            met=None,
            note=f"{ms['ledger']:.0f} ms: what a first ledger request pays before its own work "
            "(pydantic, the ledger's models, the HTTP edge, token checks)",
        ),
    ]


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _seed(client: Any, count: int) -> None:
    """Fill the table to a fixed size with BatchWriteItem (moto's transactions cost grows with
    table size, so both sides of the ratio must see the same size)."""
    items = [
        {"PutRequest": {"Item": {"pk": {"S": f"SEED#{n // 50}"}, "sk": {"S": f"{n:06d}"}}}}
        for n in range(count)
    ]
    for start in range(0, len(items), 25):
        client.batch_write_item(RequestItems={TABLE: items[start : start + 25]})


def _delete(client: Any, keys: list[tuple[str, str]]) -> None:
    """Remove what a timed posting added, outside the timing, so the table size stays fixed."""
    client.batch_write_item(
        RequestItems={
            TABLE: [
                {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in keys
            ]
        }
    )


class _WritesSkipped:
    """A client that reads from moto but answers TransactWriteItems at once: what is left of a
    posting's time is the ledger's own work (validation, hashing, item building)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class _Sample:
    ratio: float
    transfer_ms: float
    update_ms: float
    items: int


class _Bench:
    """A moto ledger table with the system accounts, one case account and ``seed`` extra items."""

    def __init__(self, seed: int) -> None:
        import boto3

        from chalicelib.clock import FixedClock
        from chalicelib.ledger import LedgerService, SystemAccount
        from infra.tables import TABLES, create_table_request

        self.client = boto3.client("dynamodb", region_name="us-east-1")
        spec = next(t for t in TABLES if t.env_var == "LEDGER_TABLE")
        self.client.create_table(**create_table_request(spec, TABLE))
        self.clock = FixedClock(datetime(2026, 11, 2, tzinfo=UTC))
        self.ledger = LedgerService(self.client, TABLE, self.clock)
        self.ledger.ensure_system_accounts()
        self.ledger.open_case_account(CASE, case_id="bench")
        self.clearing = SystemAccount.PAYMENT_CLEARING.of()
        self.client.put_item(
            TableName=TABLE, Item={"pk": {"S": "RAW"}, "sk": {"S": "RAW"}, "n": {"N": "0"}}
        )
        self.raw_n = 0
        self.serial = 0
        _seed(self.client, seed)

    def request(self) -> Any:
        from chalicelib.ledger import TransferCode, TransferRequest

        self.serial += 1
        return TransferRequest.between(
            id=f"bench-{self.serial}",
            debit=self.clearing,
            credit=CASE,
            amount=100,
            code=TransferCode.COLLECTION,
            requested_by="bench",
        )

    def raw_update(self) -> None:
        """The baseline: one conditional UpdateItem of a counter, as small as a write gets."""
        self.client.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "RAW"}, "sk": {"S": "RAW"}},
            UpdateExpression="SET n = n + :one",
            ConditionExpression="n = :expected",
            ExpressionAttributeValues={":one": {"N": "1"}, ":expected": {"N": str(self.raw_n)}},
        )
        self.raw_n += 1

    def posting_ratio(self) -> _Sample:
        """Median ledger transfer over median raw UpdateItem, interleaved, the table size held
        fixed by deleting each posting's items (untimed) after it."""
        case_seq = self.ledger.balance(CASE).seq
        clearing_seq = self.ledger.balance(self.clearing).seq
        items = self.client.describe_table(TableName=TABLE)["Table"]["ItemCount"]
        transfer_times, update_times = [], []
        for _ in range(POSTINGS):
            update_times.append(_timed(self.raw_update))
            request = self.request()
            transfer_times.append(_timed(lambda r=request: self.ledger.transfer(r)))
            case_seq, clearing_seq = case_seq + 1, clearing_seq + 1
            _delete(
                self.client,
                [
                    (f"XFER#{request.id}", "TRANSFER"),
                    (f"ACCT#{CASE}", f"ENTRY#{case_seq:012d}"),
                    (f"ACCT#{self.clearing}", f"ENTRY#{clearing_seq:012d}"),
                ],
            )
        transfer, update = statistics.median(transfer_times), statistics.median(update_times)
        return _Sample(transfer / update, transfer * 1000, update * 1000, items)


def postings() -> list[Row]:
    """A ledger transfer against one raw conditional UpdateItem, and the calls it makes."""
    from moto import mock_aws

    from chalicelib.ledger import LedgerService

    rows: list[Row] = []
    for seed in TABLE_SIZES:
        with mock_aws():
            sample = _Bench(seed).posting_ratio()
        note = (
            f"median of {POSTINGS}: {sample.transfer_ms:.1f} ms vs {sample.update_ms:.1f} ms, "
            f"table held at {sample.items} items"
        )
        first = seed == TABLE_SIZES[0]
        rows.append(
            Row(
                area="ledger",
                measure="posting: ledger transfer / raw conditional UpdateItem (moto)",
                goal="<= 4" if first else "- (moto growth)",
                measured=f"{sample.ratio:.2f}",
                met=sample.ratio <= 4 if first else None,
                note=note
                if first
                else note + "; moto copies every table on each TransactWriteItems",
            )
        )

    with mock_aws():
        bench = _Bench(0)
        cold = LedgerService(bench.client, TABLE, bench.clock)
        with counting(bench.client) as cold_calls:
            cold.transfer(bench.request())
        # Known state: this process wrote both accounts last, so its cached states are current
        # (the cold service's posting above made the states cached at set-up stale).
        bench.ledger.transfer(bench.request())
        replayed = bench.request()
        with counting(bench.client) as warm_calls:
            bench.ledger.transfer(replayed)
        with counting(bench.client) as replay_calls:
            bench.ledger.transfer(replayed)

        dry = LedgerService(_WritesSkipped(bench.client), TABLE, bench.clock)
        dry.balance(CASE)
        dry.balance(bench.clearing)
        requests = [bench.request() for _ in range(POSTINGS * 5)]
        started = time.perf_counter()
        for request in requests:
            dry.transfer(request)
        own_ms = (time.perf_counter() - started) / len(requests) * 1000
        update_ms = statistics.median(_timed(bench.raw_update) for _ in range(POSTINGS)) * 1000

    writes = sum(v for k, v in warm_calls.items() if k in WRITES)
    reads = sum(v for k, v in warm_calls.items() if k in READS)
    return [
        *rows,
        Row(
            area="ledger",
            measure="posting: the ledger's own work / raw UpdateItem",
            goal="-",
            measured=f"{own_ms / update_ms:.2f}",
            met=None,
            note=f"{own_ms:.2f} ms per posting without the write call",
        ),
        Row(
            area="ledger",
            measure="DynamoDB calls per posting, account state known",
            goal="1 write, 0 reads",
            measured=f"{writes} write, {reads} reads ({names(warm_calls)})",
            met=writes == 1 and reads == 0 and warm_calls["TransactWriteItems"] == 1,
        ),
        Row(
            area="ledger",
            measure="DynamoDB calls per posting, account state unknown",
            goal="-",
            measured=names(cold_calls),
            met=None,
            note="a new process reads the accounts once, then caches them",
        ),
        Row(
            area="ledger",
            measure="DynamoDB calls per idempotent replay",
            goal="-",
            measured=names(replay_calls),
            met=None,
            note="the transfer record refuses the write; one read returns the original",
        ),
    ]


def run() -> list[Row]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return [*cold_start(), *postings()]
