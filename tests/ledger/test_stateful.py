"""Hypothesis drives random sequences of ledger operations against a model and checks the
ledger's invariants after every step."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from moto import mock_aws

from chalicelib.clock import FixedClock
from chalicelib.ledger import (
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerService,
    PendingExpired,
    PendingNotActive,
    Transfer,
    TransferCode,
    TransferRequest,
)
from chalicelib.ledger.audit import verify_chain
from chalicelib.ledger.models import Counters
from infra.tables import TABLES, create_table_request
from tests.conftest import START
from tests.ledger.conftest import CLEARING, PAYOUTS

CASES = ("4406042600000011", "4406042600000029", "4406042600000037")
ACCOUNTS = (CLEARING, PAYOUTS, *CASES)
amounts = st.integers(min_value=1, max_value=5_000)


@dataclass
class PendingModel:
    debit: str
    credit: str
    amount: int
    expires_at: Any
    active: bool = True


class LedgerMachine(RuleBasedStateMachine):
    """Two service instances (two Lambdas with their own caches) share one moto table."""

    examples = 0

    def __init__(self) -> None:
        super().__init__()
        LedgerMachine.examples += 1
        self.table = f"courtfunds-stateful-{LedgerMachine.examples}"
        self.client = boto3.client("dynamodb", region_name="us-east-1")
        spec = next(t for t in TABLES if t.env_var == "LEDGER_TABLE")
        self.client.create_table(**create_table_request(spec, self.table))
        self.clock = FixedClock(START)
        self.services = [
            LedgerService(self.client, self.table, self.clock, sleep=lambda _: None)
            for _ in range(2)
        ]
        self.services[0].ensure_system_accounts()
        for n, account in enumerate(CASES):
            self.services[0].open_case_account(account, case_id=f"case-{n}")
        self.model = {account: Counters() for account in ACCOUNTS}
        self.entries = dict.fromkeys(ACCOUNTS, 0)
        self.pendings: dict[str, PendingModel] = {}
        self.done: list[tuple[TransferRequest, Transfer]] = []
        self.reversed: set[str] = set()
        self.serial = 0

    def teardown(self) -> None:
        try:
            for account in ACCOUNTS:  # the full verify, entries against transfer records too
                report = self.services[1].verify(account)
                assert report.ok, report.first_break
        finally:
            # one table at a time: moto copies every table on each transaction
            self.client.delete_table(TableName=self.table)

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def apply(self, account: str, delta: Counters) -> None:
        self.model[account] = self.model[account] + delta
        self.entries[account] += 1

    def post(self, service: int, request: TransferRequest) -> Transfer | None:
        (debit, credit) = (request.legs[0].account_id, request.legs[1].account_id)
        amount = request.legs[0].amount
        short = debit in CASES and self.model[debit].available < amount
        try:
            transfer = self.services[service].transfer(request)
        except InsufficientFunds:
            assert short
            return None
        assert not short
        if request.pending:
            self.apply(debit, Counters(debits_pending=amount))
            self.apply(credit, Counters(credits_pending=amount))
            self.pendings[request.id] = PendingModel(debit, credit, amount, transfer.expires_at)
        else:
            self.apply(debit, Counters(debits_posted=amount))
            self.apply(credit, Counters(credits_posted=amount))
        self.done.append((request, transfer))
        return transfer

    @rule(service=st.integers(0, 1), case=st.sampled_from(CASES), amount=amounts)
    def collect(self, service: int, case: str, amount: int) -> None:
        self.post(
            service,
            TransferRequest.between(
                id=self.next_id("pay"),
                debit=CLEARING,
                credit=case,
                amount=amount,
                code=TransferCode.COLLECTION,
                requested_by="collection",
            ),
        )

    @rule(
        service=st.integers(0, 1),
        case=st.sampled_from(CASES),
        amount=amounts,
        pending=st.booleans(),
        timeout=st.sampled_from([None, 60, 600]),
    )
    def disburse(
        self, service: int, case: str, amount: int, pending: bool, timeout: int | None
    ) -> None:
        self.post(
            service,
            TransferRequest.between(
                id=self.next_id("out"),
                debit=case,
                credit=PAYOUTS,
                amount=amount,
                code=TransferCode.DISBURSEMENT,
                requested_by="finance",
                pending=pending,
                timeout_seconds=timeout if pending else None,
            ),
        )

    @rule(
        service=st.integers(0, 1),
        cases=st.permutations(CASES),
        amount=amounts,
    )
    def correct(self, service: int, cases: list[str], amount: int) -> None:
        self.post(
            service,
            TransferRequest.between(
                id=self.next_id("fix"),
                debit=cases[0],
                credit=cases[1],
                amount=amount,
                code=TransferCode.CORRECTION,
                requested_by="finance",
            ),
        )

    @precondition(lambda self: bool(self.pendings))
    @rule(
        data=st.data(),
        service=st.integers(0, 1),
        void=st.booleans(),
        part=st.integers(1, 100),
    )
    def resolve(self, data: st.DataObject, service: int, void: bool, part: int) -> None:
        pending_id = data.draw(st.sampled_from(sorted(self.pendings)))
        pending = self.pendings[pending_id]
        amount = max(1, pending.amount * part // 100)
        ledger = self.services[service]
        resolution_id = self.next_id("resolve")
        expired = pending.expires_at is not None and self.clock.now() >= pending.expires_at
        try:
            if void:
                ledger.void_pending(pending_id, id=resolution_id, requested_by="finance")
            else:
                ledger.post_pending(
                    pending_id, id=resolution_id, amount=amount, requested_by="finance"
                )
        except PendingExpired:
            assert expired or not pending.active
            return
        except PendingNotActive:
            assert not pending.active
            return
        assert pending.active
        assert not expired
        pending.active = False
        posted = 0 if void else amount
        self.apply(pending.debit, Counters(debits_pending=-pending.amount, debits_posted=posted))
        self.apply(pending.credit, Counters(credits_pending=-pending.amount, credits_posted=posted))

    @rule(seconds=st.sampled_from([30, 61, 601]), service=st.integers(0, 1))
    def sweep(self, seconds: int, service: int) -> None:
        now = self.clock.advance(timedelta(seconds=seconds))
        due = [
            p
            for p in self.pendings.values()
            if p.active and p.expires_at is not None and now >= p.expires_at
        ]
        assert self.services[service].expire_pending() == len(due)
        for pending in due:
            pending.active = False
            self.apply(pending.debit, Counters(debits_pending=-pending.amount))
            self.apply(pending.credit, Counters(credits_pending=-pending.amount))

    @precondition(lambda self: any(not r.pending for r, _ in self.done))
    @rule(data=st.data(), service=st.integers(0, 1))
    def reverse(self, data: st.DataObject, service: int) -> None:
        posted = [r for r, _ in self.done if not r.pending and r.code != TransferCode.REVERSAL]
        if not posted:
            return
        original = data.draw(st.sampled_from(posted))
        mirror = TransferRequest.between(
            id=self.next_id("rev"),
            debit=original.legs[1].account_id,
            credit=original.legs[0].account_id,
            amount=original.legs[0].amount,
            code=TransferCode.REVERSAL,
            requested_by="finance",
            reverses=original.id,
        )
        if original.id in self.reversed:
            with pytest.raises(AlreadyReversed):
                self.services[service].transfer(mirror)
            return
        if self.post(service, mirror) is not None:
            self.reversed.add(original.id)

    @precondition(lambda self: bool(self.done))
    @rule(data=st.data(), service=st.integers(0, 1))
    def replay(self, data: st.DataObject, service: int) -> None:
        request, original = data.draw(st.sampled_from(self.done))
        assert self.services[service].transfer(request) == original

    @precondition(lambda self: bool(self.done))
    @rule(data=st.data(), service=st.integers(0, 1), extra=st.integers(1, 100))
    def conflicting_replay(self, data: st.DataObject, service: int, extra: int) -> None:
        request, _ = data.draw(st.sampled_from(self.done))
        changed = request.model_copy(
            update={
                "legs": tuple(
                    leg.model_copy(update={"amount": leg.amount + extra}) for leg in request.legs
                )
            }
        )
        with pytest.raises(IdempotencyConflict):
            self.services[service].transfer(changed)

    @invariant()
    def books_balance_and_chains_verify(self) -> None:
        store = self.services[0].store
        states = store.account_states(list(ACCOUNTS))
        total = 0
        for account in ACCOUNTS:
            state = states[account]
            assert state.totals == self.model[account], account
            assert state.seq == self.entries[account], "a replay must never post twice"
            if account in CASES:
                assert state.totals.available >= 0
            report = verify_chain(account, store.entries(account), state)
            assert report.ok, report.first_break
            total += state.totals.posted
        assert total == 0
        reserved = [states[a].totals for a in ACCOUNTS]
        assert sum(c.debits_pending for c in reserved) == sum(c.credits_pending for c in reserved)


LedgerMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerInvariantsUnderRandomOperations = pytest.mark.slow(LedgerMachine.TestCase)


@pytest.fixture(autouse=True, scope="module")
def _moto() -> Iterator[None]:
    """One moto for the whole run; each example makes (and drops) its own table."""
    with mock_aws():
        yield
