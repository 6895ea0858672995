"""A seeded simulation of the court's money with faults, checked after every step.

One seed decides a plan: a list of operations (payments started, confirmed, declined and paid
at the rail without us; webhooks delivered in order, out of order, twice, late or forged;
unidentified money and its claim; counter cash; disbursements proposed, approved, deferred,
released by staff or by the creditor's face check, and paid out; the bank moving payouts on;
refunds asked for, approved, paid back over the rail or by bank, settled late by the rail,
reissued or withdrawn; four-eyes corrections; the day's reconciliation booking the rail's fees;
sweepers, twice at once; the clock across working days), each with the fault it runs under (a
rail or face verifier that does not answer, an answer lost after the rail acted, a crash after
the rail call, a DynamoDB write refused by a transaction conflict or throttling, a crash just
before or just after a write). The real services run it on moto, from the court set up once in
``stage.py``.

After every step the invariants are checked (``invariants.py``, ``money_back.py``); at the end
the sweepers run without faults and the rail's movements are compared with the ledger. The same
seed plans the same operations, so a failure replays; ``shrink`` removes operations while it
still fails.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.clock import FixedClock
from chalicelib.identity import Principal, Role
from tests.simulation.rails import (
    DECLINED_CARD,
    GOOD_CARD,
    Crash,
    Fault,
    SimPaymentRail,
    SimPayoutRail,
    sign,
)
from tests.simulation.verifier import SimFaceVerifier

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
    "request_refund": 3,
    "approve_refund": 4,
    "refund_twice": 1,
    "rail_settles_refund": 2,
    "deliver_refund_event": 2,
    "sweep_refunds": 2,
    "reissue_or_cancel_refund": 1,
    "refund_by_bank": 1,
    "propose_correction": 2,
    "decide_correction": 2,
    "face_check": 4,
    "fail_face_checks": 1,
    "release_by_face": 2,
    "unlock_claim": 1,
    "defer_disbursement": 2,
    "resume_disbursement": 1,
    "reconcile_day": 2,
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
        self.written: set[str] = set()  # tables a step wrote to (or tried to)
        client.meta.events.register("before-parameter-build.dynamodb", self._parameters)
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

    def _parameters(self, params: Any, model: Any, **_: Any) -> None:
        """The tables a step writes and the ledger accounts a transaction may change, for the
        next step's checks: an invariant is checked again when what it is about was written
        (a write that does not commit is checked unchanged, which proves as much)."""
        if model.name not in WRITES and model.name != "BatchWriteItem":
            return
        self.written.update(params.get("RequestItems", {}))
        if "TableName" in params:
            self.written.add(params["TableName"])
        for item in params.get("TransactItems", ()):
            for action in item.values():
                self.written.add(action.get("TableName", ""))
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
    verifier: SimFaceVerifier
    cases: list[Any] = field(default_factory=list)
    payment_ids: list[str] = field(default_factory=list)
    delivered: list[bytes] = field(default_factory=list)
    payout_delivered: int = 0
    disbursements: list[str] = field(default_factory=list)
    cash_entries: int = 0
    cash: list[str] = field(default_factory=list)  # counter cash counted, by transfer id
    refunds: list[str] = field(default_factory=list)
    refund_delivered: int = 0
    corrections: list[str] = field(default_factory=list)
    grants: list[tuple[str, str]] = field(default_factory=list)  # (claim code, face grant)
    reconciled: set[Any] = field(default_factory=set)  # court days reconciled
    seen: dict[str, object] = field(default_factory=dict)  # what the last checks looked at
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


def run(seed: int, ops: list[Op], *, audit: bool = False) -> Outcome:
    """Run ``ops`` on a fresh world; stop at the first broken invariant. ``audit`` adds the
    auditors' whole-ledger check at the end (every account and transfer again)."""
    from tests.simulation import invariants, operations
    from tests.simulation.stage import world

    with world(seed) as w:
        for step, op in enumerate(ops):
            outside = 0
            if op.fault in DB_FAULTS:
                w.faults.arm(op.fault, op.fault_at)
                w.faults_armed += 1
            elif op.fault is not None:
                outside = _arm_outside(w, op)
                w.faults_armed += 1
            try:
                result = operations.perform(w, op)
            except Crash:
                result = "crashed"
            except Exception as error:
                result = type(error).__name__
            finally:
                w.faults_fired += outside > _armed_outside(w)
                w.faults.disarm()
                w.rail.armed.clear()
                w.payouts.armed.clear()
                w.verifier.armed = None
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


def _arm_outside(w: World, op: Op) -> int:
    """Arm a fault at the outside calls the operation may make: the payment rail's (one of
    create, confirm and retrieve, and its refunds), the payout rail's send, and for a rail
    that does not answer, the face verifier too. Each fires once, at its first call."""
    w.rail.fail_next(["create", "confirm", "retrieve"][op.fault_at], op.fault or "")
    w.rail.fail_next("refund", op.fault or "")
    w.payouts.fail_next("send", op.fault or "")
    if op.fault == Fault.UNAVAILABLE:
        w.verifier.armed = "unavailable"
    return _armed_outside(w)


def _armed_outside(w: World) -> int:
    return len(w.rail.armed) + len(w.payouts.armed) + (w.verifier.armed is not None)


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
