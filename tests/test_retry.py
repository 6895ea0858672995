"""Backoff never waits into the last moments of a Lambda invocation, and the ledger's posting
budget (settings) carries a busy shard's postings through one by one."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.ledger import ConcurrencyExhausted, LedgerService
from chalicelib.retry import Backoff, deadline_from_lambda, invocation_deadline, time_left
from tests.ledger.conftest import CASE_A, collect, disburse
from tests.ledger.test_concurrency import inject_conflicts


class Longest(random.Random):
    """Draws the longest wait the ceiling allows."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_a_wait_that_would_leave_less_than_the_reserve_is_not_taken() -> None:
    naps: list[float] = []
    left = [10.0]
    backoff = Backoff(
        base=1.0, cap=4.0, reserve=2.0, sleep=naps.append, rng=Longest(),
        time_left=lambda: left[0],
    )  # fmt: skip
    assert backoff.pause(3)  # 4 s of 10, leaving 6
    left[0] = 3.5
    assert backoff.pause(0)  # 1 s, leaving 2.5
    assert not backoff.pause(1)  # 2 s would leave 1.5, inside the reserve
    left[0] = 1.0
    assert not backoff.pause(0)  # already inside the reserve
    assert naps == [4.0, 1.0]


def test_outside_an_invocation_the_backoff_always_waits() -> None:
    naps: list[float] = []
    backoff = Backoff(base=0.01, cap=0.05, sleep=naps.append)
    assert time_left() is None
    assert all(backoff.pause(n) for n in range(5))
    assert len(naps) == 5


def test_the_middleware_takes_the_time_left_from_the_lambda_context() -> None:
    seen: list[float | None] = []

    def handler(event: Any) -> str:
        seen.append(time_left())
        return "answered"

    http = SimpleNamespace(
        lambda_context=SimpleNamespace(get_remaining_time_in_millis=lambda: 29_000)
    )
    schedule = SimpleNamespace(context=SimpleNamespace(get_remaining_time_in_millis=lambda: 4_000))
    assert deadline_from_lambda(http, handler) == "answered"
    deadline_from_lambda(schedule, handler)
    deadline_from_lambda(SimpleNamespace(context={"requestId": "r-1"}), handler)
    first, second, third = seen
    assert first is not None
    assert 28 < first <= 29
    assert second is not None
    assert 3 < second <= 4
    assert third is None  # no Lambda context (chalice.test, a script): no deadline
    assert time_left() is None  # the deadline ends with the invocation


def test_a_contended_posting_near_the_end_of_the_invocation_is_refused_at_once(
    aws: Any, clock: FixedClock
) -> None:
    naps: list[float] = []
    ledger = LedgerService(aws, wiring.table_name("LEDGER_TABLE"), clock, sleep=naps.append)
    ledger.ensure_system_accounts()
    ledger.open_case_account(CASE_A, case_id="case-a")
    collect(ledger, CASE_A, 1_000, "pay-1")
    injected = inject_conflicts(aws, times=1_000)
    with invocation_deadline(1.5), pytest.raises(ConcurrencyExhausted) as refused:
        disburse(ledger, CASE_A, 400, "out-1")
    assert (len(injected), naps) == (1, [])  # one try, no wait into the reserve
    assert "1 times" in refused.value.detail
    aws.meta.events.unregister("before-call.dynamodb.TransactWriteItems")
    assert ledger.balance(CASE_A).posted == 1_000


def test_the_posting_budget_carries_a_busy_shard_through(aws: Any) -> None:
    # Twenty rivals landing on one shard before this posting: more than the ledger's old
    # budget of eight attempts, within the budget the settings give it.
    ledger = wiring.ledger_service()
    ledger.ensure_system_accounts()
    ledger.open_case_account(CASE_A, case_id="case-a")
    collect(ledger, CASE_A, 1_000, "pay-1")
    injected = inject_conflicts(aws, times=20)
    with invocation_deadline(60):
        disburse(ledger, CASE_A, 400, "out-1")
    assert len(injected) == 20
    assert wiring.settings().ledger_posting_attempts > 20
    assert ledger.balance(CASE_A).posted == 600
