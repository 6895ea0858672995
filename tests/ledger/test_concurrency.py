"""Contention: threads racing on one case account through a one-call-at-a-time moto server,
and injected TransactionConflict cancellations (moto never raises them)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from chalicelib.clock import FixedClock
from chalicelib.ledger import (
    AlreadyReversed,
    ConcurrencyExhausted,
    InsufficientFunds,
    LedgerService,
    PendingNotActive,
    TransferCode,
    TransferRequest,
)
from infra.moto_server import start_moto_server, stop_moto_server
from infra.tables import TABLES, create_table_request
from tests.ledger.conftest import CASE_A, CLEARING, PAYOUTS, collect, disburse, new_ledger

THREADS = 8
POSTINGS_PER_THREAD = 10
TABLE = "courtfunds-concurrency-ledger"


class FakeHTTP:
    status_code = 400


def inject_conflicts(client: Any, times: int) -> list[int]:
    """Make the next ``times`` TransactWriteItems fail as DynamoDB does when two transactions
    touch one item at once; return a list that counts the injected failures."""
    injected: list[int] = []

    def cancel(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if len(injected) >= times:
            return None
        injected.append(1)
        items = json.loads(params["body"])["TransactItems"]
        reasons = [{"Code": "TransactionConflict"} for _ in items]
        return FakeHTTP(), {
            "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
            "CancellationReasons": reasons,
        }

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", cancel)
    return injected


def test_a_transaction_conflict_is_retried_with_jitter(
    ledger: LedgerService, aws: Any, clock: FixedClock
) -> None:
    naps: list[float] = []
    racing = LedgerService(ledger.store.client, ledger.store.table, clock, sleep=naps.append)
    collect(racing, CASE_A, 1000, "pay-1")
    injected = inject_conflicts(aws, times=3)
    disburse(racing, CASE_A, 400, "out-1")
    assert len(injected) == 3
    assert len(naps) == 3
    assert all(0 <= nap <= 0.2 for nap in naps)
    assert ledger.balance(CASE_A).posted == 600
    assert ledger.verify(CASE_A).ok


def test_retries_are_bounded_and_then_reported(ledger: LedgerService, aws: Any) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    injected = inject_conflicts(aws, times=1000)
    with pytest.raises(ConcurrencyExhausted) as err:
        disburse(ledger, CASE_A, 400, "out-1")
    assert err.value.status == 503
    assert len(injected) == 8
    aws.meta.events.unregister("before-call.dynamodb.TransactWriteItems")
    assert ledger.balance(CASE_A).posted == 1000


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server, url = start_moto_server()
    try:
        yield url
    finally:
        stop_moto_server(server)


def remote_ledger(url: str, clock: FixedClock) -> LedgerService:
    """A ledger with its own client and cache, as one Lambda instance of many would have."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=4),
    )
    # Eight threads hammering one account is far more contention than a case ever sees; more
    # attempts keep the test about correctness, not about the retry budget (tested above), also
    # on a machine busy with other work, where each attempt waits longer for its turn.
    return LedgerService(client, TABLE, clock, max_attempts=100)


@pytest.mark.slow
def test_racing_threads_never_overdraw_or_lose_an_update(moto_url: str, clock: FixedClock) -> None:
    setup = remote_ledger(moto_url, clock)
    spec = next(t for t in TABLES if t.env_var == "LEDGER_TABLE")
    setup.store.client.create_table(**create_table_request(spec, TABLE))
    setup.ensure_system_accounts()
    setup.open_case_account(CASE_A, case_id="case-a")
    collect(setup, CASE_A, 20_000, "seed")

    accepted: dict[str, int] = {}
    refused: list[str] = []
    exhausted: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    # Two threads share each service (a threaded local server); each pair is another Lambda.
    ledgers = [remote_ledger(moto_url, clock) for _ in range(THREADS // 2)]
    for ledger in ledgers:
        ledger.balance(CASE_A)  # warm the caches, so every thread starts from the same state
        ledger.balance(CLEARING)
        ledger.balance(PAYOUTS)

    def work(worker: int) -> None:
        ledger = ledgers[worker % len(ledgers)]
        rng = random.Random(worker)
        start.wait()
        for n in range(POSTINGS_PER_THREAD):
            transfer_id = f"w{worker}-{n}"
            collection = n % 4 == 0
            amount = rng.randint(100, 1500)
            request = TransferRequest.between(
                id=transfer_id,
                debit=CLEARING if collection else CASE_A,
                credit=CASE_A if collection else PAYOUTS,
                amount=amount,
                code=TransferCode.COLLECTION if collection else TransferCode.DISBURSEMENT,
                requested_by=f"worker-{worker}",
            )
            try:
                ledger.transfer(request)
            except InsufficientFunds:
                with lock:
                    refused.append(transfer_id)
                continue
            except ConcurrencyExhausted:
                with lock:
                    exhausted.append(transfer_id)
                continue
            with lock:
                accepted[transfer_id] = amount if collection else -amount

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not exhausted
    assert len(accepted) + len(refused) == THREADS * POSTINGS_PER_THREAD
    assert refused, "the race should have run the account dry at least once"
    balance = setup.balance(CASE_A)
    assert balance.posted == 20_000 + sum(accepted.values())
    assert balance.posted >= 0
    entries = [entry for _, entry in setup.store.entries(CASE_A)]
    posted_ids = [entry.transfer_id for entry in entries[1:]]
    assert sorted(posted_ids) == sorted(accepted)  # each accepted transfer exactly once
    assert min(entry.after.available for entry in entries) >= 0
    assert setup.verify(CASE_A).ok
    assert setup.verify(CLEARING).ok
    assert setup.verify(PAYOUTS).ok
    total = sum(setup.balance(a).posted for a in (CASE_A, CLEARING, PAYOUTS))
    assert total == 0


def run_first(client: Any, rival: Callable[[], object]) -> None:
    """Let ``rival`` commit just before the next TransactWriteItems: the two callers both read
    the same state, and only the conditions in the transaction can keep them apart."""
    fired: list[int] = []

    def interleave(**_: Any) -> None:
        if not fired:
            fired.append(1)
            rival()

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", interleave)


def test_racing_resolutions_settle_a_pending_transfer_once(
    ledger: LedgerService, aws: Any, clock: FixedClock
) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 700, "out-1", pending=True)
    rival = new_ledger(aws, clock)
    run_first(aws, lambda: rival.void_pending("out-1", id="out-1-void", requested_by="finance-3"))
    with pytest.raises(PendingNotActive, match="voided"):
        ledger.post_pending("out-1", id="out-1-post", requested_by="finance-2")
    balance = ledger.balance(CASE_A)
    assert (balance.posted, balance.debits_pending, balance.available) == (1000, 0, 1000)
    assert ledger.verify(CASE_A).ok


def test_racing_reversals_reverse_once(ledger: LedgerService, aws: Any, clock: FixedClock) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    collect(ledger, CASE_A, 1000, "pay-2")
    rival = new_ledger(aws, clock)
    run_first(
        aws, lambda: rival.reverse("pay-1", id="rev-a", requested_by="finance-3", reason="dup")
    )
    with pytest.raises(AlreadyReversed, match="rev-a"):
        ledger.reverse("pay-1", id="rev-b", requested_by="finance-2", reason="dup")
    assert ledger.balance(CASE_A).posted == 1000


@pytest.mark.slow
def test_twenty_cases_paid_at_once_through_one_system_account_are_all_posted(
    moto_url: str, clock: FixedClock
) -> None:
    """Twenty Lambdas post to twenty cases at the same moment, all through payment clearing:
    with the system account sharded, each meets contention only on its shard, and the
    ledger's own bounded retries post every one (none refused with 503)."""
    from chalicelib.cases.identifiers import make_account_number

    table = f"{TABLE}-shards"
    spec = next(t for t in TABLES if t.env_var == "LEDGER_TABLE")
    setup = remote_ledger(moto_url, clock)
    setup.store.client.create_table(**create_table_request(spec, table))

    def service() -> LedgerService:
        client = remote_ledger(moto_url, clock).store.client
        return LedgerService(client, table, clock, system_shards=8)

    books = service()
    books.ensure_system_accounts()
    accounts = [make_account_number("粤0604", 2026, n) for n in range(1, 21)]
    for number in accounts:
        books.open_case_account(number, case_id=number)
    lambdas = [service() for _ in accounts]
    for ledger in lambdas:
        ledger.balance(accounts[0])
    refused: list[str] = []
    start = threading.Barrier(len(accounts))

    def pay(index: int) -> None:
        start.wait()
        try:
            collect(lambdas[index], accounts[index], 100 + index, f"cash-{index}")
        except ConcurrencyExhausted:
            refused.append(accounts[index])

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(len(accounts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert refused == []
    assert books.balance(CLEARING).posted == -sum(100 + i for i in range(len(accounts)))
    assert books.verify(CLEARING).ok
