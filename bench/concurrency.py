"""Concurrent postings through one system account: many cases paid at the same moment.

Each posting moves a different case account and payment clearing, as payments of many cases do
at a busy hour. Threads, each with its own ledger service and client (as Lambda instances
would), post through a moto server that serves one call at a time, as DynamoDB makes each call
atomic. Measured: how many postings were refused after the ledger's retries (goal 0), and the
throughput of the concurrent run against the same postings sent one at a time. The ledger's
sharded system accounts (``LEDGER_SYSTEM_SHARDS``) are compared with one unsharded account;
each posting has the attempts the settings give it (``LEDGER_POSTING_ATTEMPTS``), as in the
deployed ledger. There is no Lambda here, so no invocation deadline cuts the retries short.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from bench import Row

TABLE = "courtfunds-bench-concurrency"
WIDTHS = (20, 100)
# One unsharded account is compared at 20 at once only: at 100 on one account each round of
# retries lets one posting through, so the run is about a hundred rounds of the whole queue on a
# server that answers one call at a time, to show what 20 at once already shows.
UNSHARDED_WIDTHS = (20,)


def _client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        # The server answers one call at a time: under load a call may queue a long while, and
        # a timeout here would be the bench's own failure, not the ledger's.
        config=Config(
            retries={"max_attempts": 1},
            max_pool_connections=4,
            read_timeout=900,
            connect_timeout=30,
        ),
    )


class _Books:
    """A fresh ledger table on the moto server with the system accounts and ``cases`` case
    accounts; ``shards`` is the number of system-account shards."""

    def __init__(self, url: str, name: str, cases: int, shards: int, attempts: int) -> None:
        from chalicelib.cases.identifiers import make_account_number
        from chalicelib.clock import SystemClock
        from chalicelib.ledger import LedgerService
        from infra.tables import TABLES, create_table_request

        self.url, self.name, self.shards, self.attempts = url, name, shards, attempts
        self.clock = SystemClock()
        spec = next(t for t in TABLES if t.env_var == "LEDGER_TABLE")
        _client(url).create_table(**create_table_request(spec, name))
        setup = LedgerService(_client(url), name, self.clock, system_shards=shards)
        setup.ensure_system_accounts()
        self.accounts = []
        for serial in range(cases):
            number = make_account_number("粤0604", 2026, serial + 1)
            setup.open_case_account(number, case_id=f"case-{serial}")
            self.accounts.append(number)

    def service(self) -> Any:
        from chalicelib.ledger import LedgerService

        return LedgerService(
            _client(self.url),
            self.name,
            self.clock,
            system_shards=self.shards,
            max_attempts=self.attempts,
        )

    def posting(self, index: int, round_: str) -> Any:
        from chalicelib.ledger import SystemAccount, TransferCode, TransferRequest

        return TransferRequest.between(
            id=f"{round_}-{index}",
            debit=SystemAccount.PAYMENT_CLEARING.of("CNY"),
            credit=self.accounts[index],
            amount=100 + index,
            code=TransferCode.COLLECTION,
            requested_by="bench",
        )


def _concurrent(books: _Books, width: int) -> tuple[float, int, int]:
    """Post ``width`` transfers to distinct cases at once; seconds taken, how many the ledger
    refused after its own retries (503), and how many failed otherwise."""
    from chalicelib.ledger import ConcurrencyExhausted

    services = [books.service() for _ in range(width)]
    for service in services:  # warm caches, as a warm Lambda has its accounts cached
        service.balance(books.accounts[0])
    refused: list[int] = []
    failed: list[int] = []
    start = threading.Barrier(width + 1)

    def post(index: int) -> None:
        start.wait()
        try:
            services[index].transfer(books.posting(index, "together"))
        except ConcurrencyExhausted:
            refused.append(index)
        except Exception:  # counted and shown, so the table says what went wrong
            failed.append(index)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(width)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, len(refused), len(failed)


def _one_at_a_time(books: _Books, width: int) -> float:
    service = books.service()
    service.balance(books.accounts[0])
    began = time.perf_counter()
    for index in range(width):
        service.transfer(books.posting(index, "alone"))
    return time.perf_counter() - began


def run() -> list[Row]:
    import os

    from chalicelib import settings
    from infra.moto_server import start_moto_server, stop_moto_server

    # the settings name every table and bucket; this bench uses only the ledger's
    for variable, name in {
        "CASES_TABLE": "courtfunds-bench-cases",
        "LEDGER_TABLE": TABLE,
        "COLLECTION_TABLE": "courtfunds-bench-collection",
        "PAYOUTS_TABLE": "courtfunds-bench-payouts",
        "IDENTITY_TABLE": "courtfunds-bench-identity",
        "APPROVALS_TABLE": "courtfunds-bench-approvals",
        "REFUNDS_TABLE": "courtfunds-bench-refunds",
        "OVERSIGHT_TABLE": "courtfunds-bench-oversight",
        "REFERENCE_PHOTOS_BUCKET": "courtfunds-bench-reference-photos",
    }.items():
        os.environ.setdefault(variable, name)
    os.environ.setdefault("AUTH_ISSUER", "https://auth.court-funds.local")
    os.environ.setdefault("AUTH_AUDIENCE", "court-funds-local")
    loaded = settings.load()
    shards, attempts = loaded.ledger_system_shards, loaded.ledger_posting_attempts
    server, url = start_moto_server()
    rows = []
    try:
        for width in WIDTHS:
            layouts = [(shards, f"{shards} shards")]
            layouts += [(1, "unsharded")] if width in UNSHARDED_WIDTHS else []
            for count, label in layouts:
                stamp = datetime.now(UTC).strftime("%H%M%S%f")
                books = _Books(url, f"{TABLE}-{width}-{count}-{stamp}", width, count, attempts)
                alone = _one_at_a_time(books, width)
                together, refused, failed = _concurrent(books, width)
                ratio = alone / together
                sharded = count == shards
                rows += [
                    Row(
                        area="ledger",
                        measure=f"{width} concurrent postings, one system account ({label}): "
                        "refused",
                        goal="0" if sharded else "-",
                        measured=str(refused),
                        met=(refused == 0 and failed == 0) if sharded else None,
                        note=f"after the ledger's bounded retries ({attempts} attempts); "
                        f"{failed} failed otherwise",
                    ),
                    Row(
                        area="ledger",
                        measure=f"{width} concurrent postings ({label}): throughput vs one at "
                        "a time",
                        goal="-",
                        measured=f"{ratio:.2f}",
                        met=None,
                        note=f"{together * 1000:.0f} ms together, {alone * 1000:.0f} ms one "
                        "at a time; moto serves one call at a time",
                    ),
                ]
    finally:
        stop_moto_server(server)
    return rows
