"""A seeded simulation of the court's money with faults, checked after every step.

One seed decides a plan: a list of operations (payments started, confirmed, declined and paid
at the rail without us; webhooks delivered in order, out of order, twice, late or forged;
unidentified money and its claim; counter cash; disbursements proposed, approved, released and
paid out; the bank moving payouts on; sweepers, twice at once; the clock across working days),
each with the fault it runs under (a rail that does not answer, an answer lost after the rail
acted, a crash after the rail call, a DynamoDB write refused by a transaction conflict or
throttling, a crash just before or just after a write). The real services run it on moto.

After every step the invariants are checked (``invariants.py``); at the end the sweepers run
without faults and the rail's movements are compared with the ledger. The same seed plans the
same operations, so a failure replays; ``shrink`` removes operations while it still fails.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.identity import Principal, Role
from chalicelib.ledger import LedgerService
from tests.simulation.rails import (
    DECLINED_CARD,
    GOOD_CARD,
    Crash,
    Fault,
    SimPaymentRail,
    SimPayoutRail,
    sign,
)

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
CASES = 2
OWED = 500_000  # each case owes 5,000.00 yuan
SHARDS = 2

CLERK = Principal(subject="clerk-1", name="王书记员", roles=frozenset({Role.CLERK}))
APPROVER = Principal(subject="chief-1", name="李局长", roles=frozenset({Role.APPROVER}))
FINANCE = Principal(subject="finance-1", name="陈会计", roles=frozenset({Role.FINANCE}))
FINANCE_2 = Principal(subject="finance-2", name="周出纳", roles=frozenset({Role.FINANCE}))

# Operations and how often a plan draws each.
OPERATIONS = {
    "start_payment": 4,
    "confirm_card": 4,
    "decline_card": 1,
    "pay_at_rail": 2,
    "pay_unidentified": 1,
    "deliver_next_event": 3,
    "deliver_any_event": 2,
    "deliver_again": 2,
    "forge_event": 1,
    "lie_in_signed_event": 1,
    "sweep_payments": 2,
    "claim_unidentified": 1,
    "counter_cash": 1,
    "propose_disbursement": 3,
    "propose_twice": 1,
    "approve_disbursement": 4,
    "release_disbursement": 3,
    "bank_moves_payout": 2,
    "deliver_payout_event": 2,
    "sweep_payouts": 2,
    "advance_clock": 2,
}
RAIL_FAULTS = (Fault.UNAVAILABLE, Fault.LOST, Fault.CRASH_AFTER)
DB_FAULTS = ("conflict", "throttled", "crash_before_write", "crash_after_write")
WRITES = {"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem"}


@dataclass(frozen=True)
class Op:
    """One planned step: what, which object (``pick``, taken modulo what exists) and the fault
    it runs under, if any (``fault_at`` chooses which write or which rail call)."""

    kind: str
    pick: int
    fault: str | None = None
    fault_at: int = 0

    def __str__(self) -> str:
        fault = f" under {self.fault}@{self.fault_at}" if self.fault else ""
        return f"{self.kind}({self.pick}){fault}"


def plan(seed: int, steps: int) -> list[Op]:
    """The operations of a seed: the same seed, the same plan."""
    rng = random.Random(seed)
    kinds = list(OPERATIONS)
    weights = list(OPERATIONS.values())
    ops = []
    for _ in range(steps):
        kind = rng.choices(kinds, weights)[0]
        fault = None
        roll = rng.random()
        if roll < 0.15:
            fault = rng.choice(RAIL_FAULTS)
        elif roll < 0.35:
            fault = rng.choice(DB_FAULTS)
        ops.append(Op(kind, rng.randrange(1 << 16), fault, rng.randrange(3)))
    return ops


class DynamoFaults:
    """Faults at the DynamoDB boundary, through botocore's event hooks on the one client the
    services share: the ``n``-th write of the next operation is refused or 'crashes'."""

    def __init__(self, client: Any) -> None:
        self.armed: tuple[str, int] | None = None
        self.fired = 0
        self.touched: set[str] = set()
        client.meta.events.register(
            "before-parameter-build.dynamodb.TransactWriteItems", self._parameters
        )
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def arm(self, fault: str, at: int) -> None:
        self.armed = (fault, at)

    def disarm(self) -> None:
        self.armed = None

    def _due(self, model: Any, moment: str) -> str | None:
        if self.armed is None or model.name not in WRITES:
            return None
        fault, at = self.armed
        if (fault == "crash_after_write") != (moment == "after"):
            return None
        if at > 0:
            self.armed = (fault, at - 1)
            return None
        self.armed = None
        self.fired += 1
        return fault

    def _parameters(self, params: Any, **_: Any) -> None:
        """The ledger accounts a transaction may change, for the next step's checks (one that
        does not commit is verified unchanged, which costs a read and proves as much)."""
        for item in params.get("TransactItems", ()):
            for action in item.values():
                pk = (action.get("Item") or action.get("Key") or {}).get("pk", {}).get("S", "")
                if pk.startswith("ACCT#"):
                    self.touched.add(pk.removeprefix("ACCT#"))

    def _before(self, model: Any, **_: Any) -> None:
        fault = self._due(model, "before")
        if fault == "conflict":
            reasons = [{"Code": "TransactionConflict", "Message": "injected"}]
            code = (
                "TransactionCanceledException"
                if model.name == "TransactWriteItems"
                else ("TransactionConflictException")
            )
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": "injected conflict"},
                    "CancellationReasons": reasons,
                },
                model.name,
            )
        if fault == "throttled":
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "injected throttling"}},
                model.name,
            )
        if fault == "crash_before_write":
            raise Crash(f"before {model.name}")

    def _after(self, model: Any, **_: Any) -> None:
        if self._due(model, "after") == "crash_after_write":
            raise Crash(f"after {model.name}")


@dataclass
class World:
    """The services on moto, the fake rails and what the simulation has made so far."""

    rng: random.Random
    clock: FixedClock
    rail: SimPaymentRail
    payouts: SimPayoutRail
    faults: DynamoFaults
    outbox: Path
    cases: list[Any] = field(default_factory=list)
    payment_ids: list[str] = field(default_factory=list)
    delivered: list[bytes] = field(default_factory=list)
    payout_delivered: int = 0
    disbursements: list[str] = field(default_factory=list)
    cash_entries: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    faults_armed: int = 0
    faults_fired: int = 0  # rail faults that fired; DynamoDB's are counted by DynamoFaults
    balances: dict[str, Any] = field(default_factory=dict)  # account -> totals last verified


@dataclass
class Failure:
    seed: int
    step: int  # the step after which an invariant broke (-1: at the end)
    ops: list[Op]
    why: str
    steps: int = 0  # the length of the seed's plan that failed, to replay it

    def report(self) -> str:
        lines = [f"simulation seed {self.seed} broke an invariant after step {self.step}:"]
        lines.append(f"  {self.why}")
        lines.append(f"  the shortest failing sequence found ({len(self.ops)} operations):")
        lines += [f"    {n}: {op}" for n, op in enumerate(self.ops)]
        lines.append(
            f"  replay: make simulate SEED={self.seed} STEPS={self.steps or len(self.ops)}"
        )
        return "\n".join(lines)


@dataclass
class Outcome:
    seed: int
    operations: int
    faults_armed: int
    faults_fired: int
    outcomes: dict[str, int]
    failure: Failure | None


class Stage:
    """Moto with the tables, the system accounts and the cases, built once per process and
    restored from a snapshot for every run: setting them up is most of a short run's cost
    (the seven system accounts have eight shards each), and a copy of moto's tables is the
    same starting point every time."""

    def __init__(self) -> None:
        from moto import mock_aws

        from chalicelib.cases.models import OpenCase
        from infra.tables import create_tables, table_names
        from tests.cases.factories import filing

        self._mock = mock_aws()
        self._mock.start()
        self._folder = tempfile.TemporaryDirectory()
        self.outbox = Path(self._folder.name) / "outbox"
        self._outbox_before = os.environ.get("NOTIFY_OUTBOX_DIR")
        os.environ["NOTIFY_OUTBOX_DIR"] = str(self.outbox)
        wiring.reset()
        self.clock = FixedClock(START)
        wiring.override(clock=self.clock)
        self.client = wiring.dynamodb()
        create_tables(self.client, table_names("test"))
        # Two shards per system account, not the stage's eight: the run still posts across
        # shards, and moto, which copies a table for every transaction, stays quick. Kept
        # across runs: it remembers that the system accounts exist (they are in the snapshot).
        self.ledger = LedgerService(
            self.client, wiring.settings().ledger_table, self.clock, system_shards=SHARDS
        )
        wiring.override(ledger=self.ledger)
        self.ledger.ensure_system_accounts()
        self.cases = []
        for serial in range(CASES):
            body = OpenCase.model_validate(filing(7000 + serial, adjudicated_amount=OWED))
            self.cases.append(wiring.case_service().open(body, actor="clerk-1")[0])
        self.faults = DynamoFaults(self.client)
        self._snapshot = copy.deepcopy(self._backend().tables)

    def _backend(self) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID][self.client.meta.region_name]

    def restore(self) -> None:
        self._backend().tables = copy.deepcopy(self._snapshot)
        if self.outbox.exists():
            shutil.rmtree(self.outbox)
        self.faults.disarm()
        self.faults.fired = 0
        self.faults.touched.clear()

    def close(self) -> None:
        wiring.reset()
        self._mock.stop()
        self._folder.cleanup()
        if self._outbox_before is None:
            os.environ.pop("NOTIFY_OUTBOX_DIR", None)
        else:
            os.environ["NOTIFY_OUTBOX_DIR"] = self._outbox_before


_STAGE: Stage | None = None


def stage() -> Stage:
    global _STAGE  # noqa: PLW0603 - one stage per process, built on first use
    if _STAGE is None:
        _STAGE = Stage()
    return _STAGE


def close_stage() -> None:
    """Stop the stage's moto mock, so tests that run later talk to their own mocks and servers."""
    global _STAGE  # noqa: PLW0603
    if _STAGE is not None:
        _STAGE.close()
        _STAGE = None


@contextmanager
def world(seed: int) -> Iterator[World]:
    """The stage as it was set up, with fresh services, clock and rails for one run."""
    built = stage()
    built.restore()
    clock = built.clock
    clock.set(START)
    # The ledger's cache of account states belongs to the tables just replaced: a run starts
    # as a fresh Lambda would, or the same seed would not replay the same way.
    built.ledger.cache.clear()
    rail = SimPaymentRail(clock, random.Random(seed + 1))
    payouts = SimPayoutRail(clock)
    wiring.reset()
    wiring.override(
        clock=clock,
        payment_rail=rail,
        payout_rail=payouts,
        dynamodb=built.client,
        ledger=built.ledger,
    )
    w = World(random.Random(seed), clock, rail, payouts, built.faults, built.outbox)
    w.cases = list(built.cases)
    try:
        yield w
    finally:
        wiring.reset()


def run(seed: int, ops: list[Op], *, audit: bool = False) -> Outcome:
    """Run ``ops`` on a fresh world; stop at the first broken invariant. ``audit`` adds the
    auditors' whole-ledger check at the end (every account and transfer again)."""
    from tests.simulation import invariants, operations

    with world(seed) as w:
        for step, op in enumerate(ops):
            if op.fault in DB_FAULTS:
                w.faults.arm(op.fault, op.fault_at)
                w.faults_armed += 1
            elif op.fault is not None:
                w.rail.fail_next(["create", "confirm", "retrieve"][op.fault_at], op.fault)
                w.payouts.fail_next("send", op.fault)
                w.faults_armed += 1
            try:
                result = operations.perform(w, op)
            except Crash:
                result = "crashed"
            except Exception as error:
                result = type(error).__name__
            finally:
                w.faults_fired += (
                    op.fault is not None
                    and op.fault not in DB_FAULTS
                    and (not w.rail.armed or not w.payouts.armed)
                )
                w.faults.disarm()
                w.rail.armed.clear()
                w.payouts.armed.clear()
            w.outcomes[result] = w.outcomes.get(result, 0) + 1
            broken = invariants.after_step(w)
            if broken:
                return _outcome(seed, ops, w, Failure(seed, step, ops, broken, len(ops)))
        operations.quiesce(w)
        broken = invariants.after_step(w) or invariants.after_quiet(w)
        if broken is None and audit:
            broken = invariants.audit(w)
        failure = Failure(seed, -1, ops, broken, len(ops)) if broken else None
        return _outcome(seed, ops, w, failure)


def _outcome(seed: int, ops: list[Op], w: World, failure: Failure | None) -> Outcome:
    fired = w.faults_fired + w.faults.fired
    return Outcome(seed, len(ops), w.faults_armed, fired, dict(w.outcomes), failure)


def shrink(failure: Failure) -> Failure:
    """The shortest plan found that still breaks an invariant: cut chunks, then single
    operations, while the run still fails (delta debugging over the plan)."""
    ops = failure.ops[: failure.step + 1] if failure.step >= 0 else list(failure.ops)
    best = run(failure.seed, ops).failure or failure
    ops = best.ops[: best.step + 1] if best.step >= 0 else best.ops
    chunk = max(1, len(ops) // 2)
    while chunk >= 1:
        start = 0
        while start < len(ops):
            trial = ops[:start] + ops[start + chunk :]
            found = run(failure.seed, trial).failure if trial else None
            if found is not None:
                ops, best = trial, found
            else:
                start += chunk
        chunk //= 2
    return Failure(best.seed, best.step, ops, best.why, failure.steps)


def notices_json(outbox: Path) -> list[dict[str, Any]]:
    path = outbox / "notifications.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def idempotency_key(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def signed(body: bytes) -> dict[str, str]:
    return {**sign(body), "Content-Type": "application/json"}


def later(w: World, hours: int) -> None:
    w.clock.advance(timedelta(hours=hours))


__all__ = ["DECLINED_CARD", "GOOD_CARD", "Op", "Outcome", "plan", "run", "shrink"]
