"""Refunds racing for the same money over threads, each with its own services (as separate
Lambda instances would be), against a moto server that serves one call at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config

from chalicelib.approvals import Decision
from chalicelib.clock import FixedClock
from chalicelib.identity.roles import Role
from chalicelib.problems import ProblemError
from chalicelib.refunds import RefundExceedsPayment, RefundState
from chalicelib.refunds.models import Origin, ReasonCode
from chalicelib.workdays import WorkingCalendar
from infra.moto_server import start_moto_server, stop_moto_server
from infra.refund_desk import ACCOUNT, RefundDesk, create_tables, funded_payment, refund_desk
from tests.refunds.conftest import CHIEF, CLERK, person

THREADS = 6
NAMES = {
    "LEDGER_TABLE": "race-ledger",
    "APPROVALS_TABLE": "race-approvals",
    "REFUNDS_TABLE": "race-refunds",
}


class NoAnnouncedYears:
    """No schedule entered by an administrator: the package's years are all a refund needs."""

    def current(self, year: int) -> None:
        return None

    def years(self) -> tuple[int, ...]:
        return ()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server, url = start_moto_server()
    try:
        yield url
    finally:
        stop_moto_server(server)


def client(url: str) -> object:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=4),
    )


def services(url: str, clock: FixedClock) -> RefundDesk:
    calendar = WorkingCalendar(NoAnnouncedYears(), clock=clock)
    return refund_desk(client(url), NAMES, clock, due_after=calendar.due_after, ledger_attempts=30)


def test_refunds_racing_for_one_payment_never_return_more_than_it_brought_in(
    moto_url: str,
) -> None:
    clock = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    setup = services(moto_url, clock)
    create_tables(client(moto_url), NAMES)
    ledger = setup.ledger
    source = funded_payment(
        ledger, reference="pay-race", amount=10_000, case_id="case-race", at=clock.now()
    )
    ids = []
    for n in range(THREADS):
        draft = setup.refunds.draft(
            f"rf-race-{n}",
            source,
            3_000,
            ReasonCode.DUPLICATE_PAYMENT,
            origin=Origin.CLERK,
            note="race",
        )
        assert draft is not None
        setup.refunds.submit(draft.refund_id, by=CLERK)
        setup.refunds.decide(draft.refund_id, Decision.APPROVE, by=CHIEF, text=None)
        ids.append(draft.refund_id)

    outcomes: dict[str, str] = {}
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def finance(n: int) -> None:
        mine = services(moto_url, clock)
        who = person(f"finance-{n}", Role.FINANCE)
        start.wait()
        try:
            done = mine.refunds.decide(ids[n], Decision.APPROVE, by=who, text=None)
            outcome = done.state.value
        except RefundExceedsPayment:
            outcome = "refused"
        except ProblemError as error:
            outcome = type(error).__name__
        with lock:
            outcomes[ids[n]] = outcome

    threads = [threading.Thread(target=finance, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    paid = [i for i, o in outcomes.items() if o == RefundState.PAID.value]
    assert len(paid) == 3, outcomes
    assert sorted(outcomes.values()).count("refused") == 3, outcomes
    assert setup.store.held(source) == 9_000
    balance = ledger.balance(ACCOUNT)
    assert (balance.posted, balance.debits_pending) == (1_000, 0)
    for refund_id in set(ids) - set(paid):
        assert setup.refunds.get(refund_id).state == RefundState.SUBMITTED
