"""Races over threads against a moto server that serves one call at a time (as DynamoDB makes
each call atomic): two disbursements for the same balance, two confirmations of one release,
and twenty sends of one proposal under one Idempotency-Key. Each thread's services stand for a
Lambda instance with its own clients and caches."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from chalicelib.approvals import ApprovalError, ApprovalService, ApprovalStore, ChainKind
from chalicelib.approvals.chains import default_chains
from chalicelib.cases import CaseService
from chalicelib.cases.models import OpenCase
from chalicelib.cases.store import CasesStore
from chalicelib.clock import FixedClock
from chalicelib.collection.store import CollectionStore
from chalicelib.deadlines.daily import DeadlineService
from chalicelib.deadlines.store import DeadlineStore
from chalicelib.ledger import LedgerService, SystemAccount, TransferCode, TransferRequest
from chalicelib.notifications import OutboxNotifier
from chalicelib.payouts import DisbursementState, PayoutError
from chalicelib.payouts.bodies import ProposeDisbursement
from chalicelib.payouts.sending import PayoutSender
from chalicelib.payouts.store import PayoutStore
from chalicelib.payouts.workflow import DisbursementWorkflow
from chalicelib.settings import load
from chalicelib.workdays.store import ScheduleStore
from chalicelib.workdays.working_calendar import WorkingCalendar
from infra.moto_server import start_moto_server, stop_moto_server
from infra.tables import create_tables, table_names
from tests.cases.factories import filing
from tests.payouts.conftest import (
    APPROVER,
    CLERK,
    FINANCE,
    FINANCE_2,
    LEADER,
    FakeRail,
    approve_all,
)

S = DisbursementState
NAMES = table_names("race")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server, url = start_moto_server()
    try:
        client = _client(url)
        create_tables(client, NAMES)
        yield url
    finally:
        stop_moto_server(server)


def _client(url: str) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=url, region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=4),
    )  # fmt: skip


class Instance:
    """One Lambda instance: its own clients and ledger cache, one shared rail."""

    def __init__(self, url: str, clock: FixedClock, rail: FakeRail, outbox: Path) -> None:
        client = _client(url)
        self.ledger = LedgerService(client, NAMES["LEDGER_TABLE"], clock, max_attempts=30)

        def open_account(number: str, case_id: str, currency: str) -> object:
            return self.ledger.open_case_account(number, case_id=case_id, currency=currency)

        self.cases = CaseService(CasesStore(client, NAMES["CASES_TABLE"]), clock, open_account)
        settings = load()
        calendar = WorkingCalendar(
            ScheduleStore(client, NAMES["OVERSIGHT_TABLE"]), clock=clock,
            refresh_seconds=settings.calendar_refresh_seconds,
            horizon_days=settings.calendar_alarm_horizon_days,
        )  # fmt: skip
        approvals = ApprovalService(
            ApprovalStore(client, NAMES["APPROVALS_TABLE"]), clock, default_chains(),
            overdue_working_days=settings.approval_overdue_working_days,
            due_after=calendar.due_after,
        )  # fmt: skip
        notifier = OutboxNotifier(outbox / "n.jsonl", clock=clock)
        deadlines = DeadlineService(
            DeadlineStore(client, NAMES["OVERSIGHT_TABLE"]), calendar, settings,
            CollectionStore(client, NAMES["COLLECTION_TABLE"]), notifier=notifier, clock=clock,
        )  # fmt: skip
        self.workflow = DisbursementWorkflow(
            PayoutStore(client, NAMES["PAYOUTS_TABLE"]), cases=self.cases, ledger=self.ledger,
            approvals=approvals, deadlines=deadlines, notifier=notifier, clock=clock,
            settings=settings,
        )  # fmt: skip
        self.sender = PayoutSender(
            self.workflow, rail=lambda: rail, ledger=self.ledger, grants=None, clock=clock,
            settings=load(),
        )  # fmt: skip


def _race(*actions: Callable[[], object]) -> tuple[list[object], list[Exception]]:
    start = threading.Barrier(len(actions))
    done: list[object] = []
    refused: list[Exception] = []
    lock = threading.Lock()

    def run(action: Callable[[], object]) -> None:
        start.wait()
        try:
            result = action()
        except (PayoutError, ApprovalError) as error:
            with lock:
                refused.append(error)
        else:
            with lock:
                done.append(result)

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return done, refused


@pytest.fixture
def two(
    moto_url: str, clock: FixedClock, tmp_path: Path, signer: Any
) -> tuple[Instance, Instance, FakeRail]:
    rail = FakeRail()
    first = Instance(moto_url, clock, rail, tmp_path)
    first.ledger.ensure_system_accounts()
    return first, Instance(moto_url, clock, rail, tmp_path), rail


def _funded_case(instance: Instance, serial: int, amount: int) -> Any:
    case = instance.cases.open(OpenCase.model_validate(filing(serial)), actor="clerk-1")[0]
    instance.ledger.transfer(
        TransferRequest.between(
            id=f"collection:race-{serial}", debit=SystemAccount.PAYMENT_CLEARING.of(),
            credit=case.account_number, amount=amount, code=TransferCode.COLLECTION,
            requested_by="collection",
        )
    )  # fmt: skip
    return case


@pytest.mark.parametrize("serial", [7001, 7002, 7003])
def test_two_disbursements_racing_for_one_balance_never_exceed_it(
    two: tuple[Instance, Instance, FakeRail], serial: int
) -> None:
    first, second, _ = two
    case = _funded_case(first, serial, 1_000_000)
    creditor = next(p.party_id for p in case.parties if p.role.value == "creditor")
    body = ProposeDisbursement(creditor_party_id=creditor, amount=600_000)
    a = first.workflow.propose(case.case_id, body, by=CLERK)
    b = first.workflow.propose(case.case_id, body, by=CLERK)  # each fits the balance alone

    first.workflow.approve(a.disbursement_id, by=APPROVER)
    first.workflow.approve(b.disbursement_id, by=APPROVER)
    done, refused = _race(  # finance takes the last step of each chain at once
        lambda: first.workflow.approve(a.disbursement_id, by=FINANCE),
        lambda: second.workflow.approve(b.disbursement_id, by=FINANCE_2),
    )

    assert len(done) == 1
    assert len(refused) == 1
    states = sorted(first.workflow.get(d.disbursement_id).state for d in (a, b))
    assert states == [S.APPROVED, S.PROPOSED]
    assert first.ledger.balance(case.account_number).available == 400_000
    assert first.ledger.verify(case.account_number).ok


def test_two_confirmations_of_one_staff_release_send_once(
    two: tuple[Instance, Instance, FakeRail],
) -> None:
    first, second, rail = two
    case = _funded_case(first, 7010, 1_000_000)
    creditor = next(p.party_id for p in case.parties if p.role.value == "creditor")
    body = ProposeDisbursement(creditor_party_id=creditor, amount=300_000)
    d = first.workflow.propose(case.case_id, body, by=CLERK)
    approve_all(first.workflow, d)
    first.workflow.request_staff_release(d.disbursement_id, by=FINANCE, reason="单位债权人")
    first.sender.decide_staff_release(d.disbursement_id, by=LEADER, approve=True)

    def last_step() -> object:
        return second.sender.decide_staff_release(d.disbursement_id, by=FINANCE_2, approve=True)

    done, refused = _race(
        lambda: first.sender.decide_staff_release(d.disbursement_id, by=FINANCE_2, approve=True),
        last_step,
    )

    assert len(done) == 1
    assert len(refused) == 1
    assert rail.calls.count("send") == 1
    assert first.workflow.get(d.disbursement_id).state == S.SENT


@pytest.mark.slow
def test_twenty_threads_sending_one_proposal_make_one_disbursement(
    moto_url: str, clock: FixedClock, tmp_path: Path, signer: Any
) -> None:
    rail = FakeRail()
    instances = [Instance(moto_url, clock, rail, tmp_path) for _ in range(4)]
    instances[0].ledger.ensure_system_accounts()
    case = _funded_case(instances[0], 7020, 1_000_000)
    creditor = next(p.party_id for p in case.parties if p.role.value == "creditor")
    body = ProposeDisbursement(creditor_party_id=creditor, amount=300_000, note="无争议部分")
    key = "5d1f0c3e-8b7a-4e6d-9c2b-1a0f9e8d7c6b"

    def send(instance: Instance) -> Callable[[], object]:
        return lambda: instance.workflow.propose(case.case_id, body, by=CLERK, idempotency_key=key)

    done, refused = _race(*(send(instances[n % 4]) for n in range(20)))

    assert refused == []
    assert len(done) == 20
    first = done[0]
    assert all(d == first for d in done)  # the same answer, whoever wrote it
    [stored] = instances[0].workflow.of_case(case.case_id)
    assert stored == first
    chain = instances[0].workflow.approvals.of_item(ChainKind.DISBURSEMENT, stored.disbursement_id)
    assert chain is not None
    assert chain.version == stored.version == 1
    assert instances[0].ledger.balance(case.account_number).available == 1_000_000
