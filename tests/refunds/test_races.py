"""Refunds racing for the same money over threads, each with its own services (as separate
Lambda instances would be), against a moto server that serves one call at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config

from chalicelib.approvals import ApprovalService, ApprovalStore, Decision, default_chains
from chalicelib.clock import FixedClock
from chalicelib.collection import RailRefund, RefundStatus
from chalicelib.identity.roles import Role
from chalicelib.ledger import LedgerService, SystemAccount, TransferCode, TransferRequest
from chalicelib.problems import ProblemError
from chalicelib.refunds import RefundExceedsPayment, RefundService, RefundState
from chalicelib.refunds.models import Origin, ReasonCode, RefundSource, SourceKind
from chalicelib.refunds.payback import Payback
from chalicelib.refunds.sources import Sources
from chalicelib.refunds.store import RefundStore
from chalicelib.workdays import WorkingCalendar
from infra.moto_server import start_moto_server, stop_moto_server
from infra.tables import TABLES, create_table_request
from tests.refunds.conftest import CHIEF, CLERK, person

ACCOUNT = "4406042600000016"
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


class InstantRail:
    """The rail side of a refund answered at once; the Stripe adapter has its own tests."""

    name = "instant"

    def refund(self, payment_reference: str, *, key: str, amount: int, currency: str) -> RailRefund:
        return RailRefund(
            reference=f"re_{key}",
            payment_reference=payment_reference,
            amount=amount,
            currency=currency,
            status=RefundStatus.SUCCEEDED,
            key=key,
        )


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


def services(url: str, clock: FixedClock) -> RefundService:
    db = client(url)
    store = RefundStore(db, NAMES["REFUNDS_TABLE"])
    ledger = LedgerService(db, NAMES["LEDGER_TABLE"], clock, max_attempts=30)
    approvals = ApprovalService(
        ApprovalStore(db, NAMES["APPROVALS_TABLE"]),
        clock,
        default_chains(),
        overdue_working_days=2,
        due_after=WorkingCalendar(NoAnnouncedYears(), clock=clock).due_after,
    )
    payback = Payback(
        store,
        clock,
        ledger=ledger,
        rail=InstantRail,  # type: ignore[arg-type,return-value]
        tell_payer=lambda refund: None,
    )
    return RefundService(
        store, clock, approvals=approvals, sources=Sources.__new__(Sources), payback=payback
    )


def test_refunds_racing_for_one_payment_never_return_more_than_it_brought_in(
    moto_url: str,
) -> None:
    clock = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    setup = services(moto_url, clock)
    db = setup.store._db
    for spec in TABLES:
        if spec.env_var in NAMES:
            db.create_table(**create_table_request(spec, NAMES[spec.env_var]))  # type: ignore[attr-defined]
    ledger = setup.payback._ledger
    ledger.ensure_system_accounts()
    ledger.open_case_account(ACCOUNT, case_id="case-race")
    ledger.transfer(
        TransferRequest.between(
            id="collection:pay-race",
            debit=SystemAccount.PAYMENT_CLEARING.of("CNY"),
            credit=ACCOUNT,
            amount=10_000,
            code=TransferCode.COLLECTION,
            requested_by="test",
        )
    )
    source = RefundSource(
        kind=SourceKind.ONLINE,
        reference="pay-race",
        paid=10_000,
        currency="CNY",
        court="粤0604",
        ledger_account=ACCOUNT,
        case_id="case-race",
        rail_reference="pi_race",
        received_at=clock.now(),
    )
    ids = []
    for n in range(THREADS):
        draft = setup.draft(
            f"rf-race-{n}",
            source,
            3_000,
            ReasonCode.DUPLICATE_PAYMENT,
            origin=Origin.CLERK,
            note="race",
        )
        assert draft is not None
        setup.submit(draft.refund_id, by=CLERK)
        setup.decide(draft.refund_id, Decision.APPROVE, by=CHIEF, text=None)
        ids.append(draft.refund_id)

    outcomes: dict[str, str] = {}
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def finance(n: int) -> None:
        mine = services(moto_url, clock)
        who = person(f"finance-{n}", Role.FINANCE)
        start.wait()
        try:
            done = mine.decide(ids[n], Decision.APPROVE, by=who, text=None)
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
        assert setup.get(refund_id).state == RefundState.SUBMITTED
