"""Sharded system accounts: postings to different cases spread over a system account's shards,
so they do not queue on one item, while the account still reads, pages and verifies as one."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.cases.identifiers import make_account_number
from chalicelib.clock import FixedClock
from chalicelib.ledger import BreakKind, LedgerService, SystemAccount
from chalicelib.ledger.shards import base_of, is_sharded, shard_for, shard_ids
from chalicelib.ledger.store import account_pk, entry_sk
from tests.ledger.conftest import CLEARING, UNIDENTIFIED, collect

SHARDS = 4


def cases(count: int) -> list[str]:
    return [make_account_number("粤0604", 2026, serial) for serial in range(1, count + 1)]


@pytest.fixture
def sharded(aws: Any, clock: FixedClock) -> tuple[LedgerService, list[str]]:
    ledger = LedgerService(aws, "courtfunds-test-ledger", clock, system_shards=SHARDS)
    ledger.ensure_system_accounts()
    accounts = cases(12)
    for number in accounts:
        ledger.open_case_account(number, case_id=f"case-{number}")
    for n, number in enumerate(accounts):
        clock.advance(timedelta(seconds=1))
        collect(ledger, number, 100 + n, f"pay-{n}")
    return ledger, accounts


def test_postings_spread_over_the_shards_and_the_account_sums_them(
    sharded: tuple[LedgerService, list[str]],
) -> None:
    ledger, accounts = sharded
    used = Counter(
        next(leg.account_id for leg in ledger.get_transfer(f"pay-{n}").legs if leg.side == "debit")
        for n in range(12)
    )
    assert len(used) > 1
    assert set(used) <= set(shard_ids(CLEARING, SHARDS))
    total = sum(100 + n for n in range(12))
    assert ledger.balance(CLEARING).posted == -total
    # the base id reads as the whole account; shard 0's own counters sit in its state item
    states = ledger.store.account_states(shard_ids(CLEARING, SHARDS))
    assert sum(state.totals.posted for state in states.values()) == -total
    everything = [ledger.balance(a).posted for a in accounts] + [ledger.balance(CLEARING).posted]
    assert sum(everything) == 0
    assert ledger.verify(CLEARING).ok
    assert ledger.verify(CLEARING).entries_checked == 12


def test_a_replay_lands_on_the_same_shard(sharded: tuple[LedgerService, list[str]]) -> None:
    ledger, accounts = sharded
    first = ledger.get_transfer("pay-3")
    again = collect(ledger, accounts[3], 103, "pay-3")
    assert again.legs == first.legs
    assert ledger.balance(CLEARING).posted == -sum(100 + n for n in range(12))


def test_a_statement_merges_the_shards_in_time_order_with_one_running_balance(
    sharded: tuple[LedgerService, list[str]], clock: FixedClock
) -> None:
    ledger, _ = sharded
    start, end = clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=1)
    lines: list[Any] = []
    cursor = None
    pages = 0
    while True:
        page = ledger.statement(CLEARING, start=start, end=end, limit=5, cursor=cursor)
        lines += page.lines
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert [line.transfer_id for line in lines] == [f"pay-{n}" for n in range(12)]
    running = 0
    for line in lines:
        running += line.credit - line.debit
        assert line.balance == running
    assert running == ledger.balance(CLEARING).posted


def test_fewer_shards_later_still_count_every_shard(
    sharded: tuple[LedgerService, list[str]], aws: Any, clock: FixedClock
) -> None:
    ledger, _ = sharded
    fewer = LedgerService(aws, ledger.store.table, clock, system_shards=1)
    assert fewer.balance(CLEARING).posted == ledger.balance(CLEARING).posted
    assert fewer.verify(CLEARING).ok


def test_a_changed_entry_in_any_shard_fails_verify(
    sharded: tuple[LedgerService, list[str]],
) -> None:
    ledger, _ = sharded
    shard = next(leg.account_id for leg in ledger.get_transfer("pay-5").legs if leg.side == "debit")
    key = {"pk": {"S": account_pk(shard)}, "sk": {"S": entry_sk(1)}}
    item = ledger.store.client.get_item(TableName=ledger.store.table, Key=key)["Item"]
    body = json.loads(item["body"]["S"])
    body["delta"]["debits_posted"] = 1
    item["body"] = {"S": json.dumps(body)}
    ledger.store.client.put_item(TableName=ledger.store.table, Item=item)
    report = ledger.verify(CLEARING)
    assert not report.ok
    assert report.first_break is not None
    assert report.first_break.kind == BreakKind.CHANGED


def test_postings_to_different_cases_on_different_shards_never_wait_for_each_other(
    aws: Any, clock: FixedClock
) -> None:
    """Two Lambdas with warm caches post at the same moment to two cases whose transfers hash
    to different shards: neither meets a stale system account, so neither retries."""
    naps: list[float] = []
    setup = LedgerService(aws, "courtfunds-test-ledger", clock, system_shards=SHARDS)
    setup.ensure_system_accounts()
    first_case, second_case = cases(2)
    for number in (first_case, second_case):
        setup.open_case_account(number, case_id=number)
    one, two = (
        LedgerService(aws, setup.store.table, clock, system_shards=SHARDS, sleep=naps.append)
        for _ in range(2)
    )
    for service in (one, two):
        for shard in shard_ids(CLEARING, SHARDS):
            service.balance(shard)  # warm: both hold every shard's state
    ids = [f"pay-{n}" for n in range(40)]
    first_id = ids[0]
    second_id = next(
        i for i in ids if shard_for(CLEARING, i, SHARDS) != shard_for(CLEARING, first_id, SHARDS)
    )
    collect(one, first_case, 500, first_id)
    collect(two, second_case, 700, second_id)
    assert naps == []
    assert setup.balance(CLEARING).posted == -1_200


def test_unidentified_funds_is_one_account() -> None:
    assert not is_sharded(UNIDENTIFIED)
    assert shard_for(UNIDENTIFIED, "any-transfer", 8) == UNIDENTIFIED
    assert all(is_sharded(s.of("CNY")) for s in SystemAccount if s.of("CNY") != UNIDENTIFIED)
    assert base_of(f"{CLEARING}.s3") == CLEARING
    assert not is_sharded(f"{CLEARING}.s3")
