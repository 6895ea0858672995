"""The seeded simulation in the suite: 200 short seeds with faults hold every invariant, a seed
replays the same run, and a guard taken out (the ledger's overdraft guard, the refunds' hold on
a payment's money) is caught, with its seed and a shorter plan."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from chalicelib.ledger.models import AccountState, Counters
from chalicelib.refunds.models import RefundSource
from chalicelib.refunds.store import RefundStore, Write
from tests.simulation.simulator import Outcome, plan, run, shrink
from tests.simulation.stage import close_stage

SEEDS = 200
OVERDRAWING_SEED = 8
OVER_REFUNDING_SEED = 18
STEPS = 3  # short runs: moto copies a table for every transaction; make simulate runs longer


@pytest.fixture(autouse=True, scope="module")
def one_stage() -> Iterator[None]:
    """The simulation's moto stage lives for this module only."""
    yield
    close_stage()


@pytest.fixture(autouse=True)
def quiet() -> Iterator[None]:
    """The services log every refusal a fault causes; thousands of lines say nothing here."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def test_every_seed_holds_every_invariant(capsys: pytest.CaptureFixture[str]) -> None:
    started, cpu = time.monotonic(), time.process_time()
    outcomes: list[Outcome] = []
    for seed in range(SEEDS):
        outcome = run(seed, plan(seed, STEPS))
        if outcome.failure is not None:
            pytest.fail(shrink(outcome.failure).report())
        outcomes.append(outcome)
    operations = sum(o.operations for o in outcomes)
    fired = sum(o.faults_fired for o in outcomes)
    kinds = {kind for o in outcomes for kind in o.outcomes}
    with capsys.disabled():
        print(
            f"\nsimulation: {SEEDS} seeds, {operations} operations, "
            f"{sum(o.faults_armed for o in outcomes)} faults armed, {fired} fired, "
            f"{len(kinds)} kinds of outcome, {time.monotonic() - started:.1f} s "
            f"({time.process_time() - cpu:.1f} s of CPU)"
        )
    assert operations == SEEDS * STEPS
    assert fired > SEEDS // 4  # the faults really hit writes and rail calls
    # the runs reached money moving both ways, not only refusals
    assert {"posted", "released", "cash_counted", "crashed"} <= kinds
    # and money going back, put right, deferred and claimed by the creditor's face
    assert {"refund_paid", "correction_posted", "deferred", "released_by_face"} <= kinds
    assert {"face_no_match", "face_locked", "reconciled"} <= kinds


def test_a_seed_replays_the_same_run() -> None:
    first = run(7, plan(7, 8))
    again = run(7, plan(7, 8))
    assert first.outcomes == again.outcomes
    assert first.faults_fired == again.faults_fired
    assert plan(7, 5) == plan(7, 12)[:5]  # a longer run of a seed begins with the shorter one


def _without_the_overdraft_guard(self: AccountState, delta: Counters) -> Counters:
    return self.totals + delta


def _caught_shrunk_and_replayed(seed: int, words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a guard out, ``seed``'s 12-step plan breaks an invariant saying ``words``; the
    same seed breaks it the same way again, shrinks to fewer operations, prints how to replay
    it, and holds once the guard is back."""
    failure = run(seed, plan(seed, 12)).failure
    assert failure is not None, "the simulation did not notice the missing guard"
    assert words in failure.why
    replayed = run(seed, plan(seed, 12)).failure
    assert replayed is not None
    assert (replayed.step, replayed.why) == (failure.step, failure.why)
    shortest = shrink(failure)
    assert words in shortest.why
    assert len(shortest.ops) < failure.step + 1
    assert f"make simulate SEED={seed} STEPS=12" in shortest.report()
    monkeypatch.undo()  # with the guard back, the same plan holds
    assert run(seed, plan(seed, 12)).failure is None


def test_a_broken_balance_guard_fails_with_its_seed_and_a_shorter_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ledger's refusal to take a case account below zero, taken out: two disbursements
    proposed at once for all a case holds, both approved, overdraw it. The seed is one
    of ``make simulate STEPS=12`` that meets this early (found by running it with the guard
    out: seeds 1, 8 and 12 of the first 13)."""
    monkeypatch.setattr(AccountState, "apply", _without_the_overdraft_guard)
    _caught_shrunk_and_replayed(OVERDRAWING_SEED, "below zero", monkeypatch)


def _hold_without_its_limit(self: RefundStore, source: RefundSource, amount: int) -> Write:
    """``RefundStore.hold`` with its condition taken out: the held amount grows past what the
    payment brought in."""
    write = _HOLD(self, source, amount)
    update = dict(write.item["Update"])
    update.pop("ConditionExpression")
    update["ExpressionAttributeValues"] = {
        ":amount": update["ExpressionAttributeValues"][":amount"]
    }
    return Write({"Update": update}, write.refused)


_HOLD = RefundStore.hold


def test_a_broken_refund_guard_fails_with_its_seed_and_a_shorter_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refunds' hold on a payment's money, taken out: two clerks ask at once for all of
    the cash a case took at the counter, and both refunds are approved. Cash goes back by
    bank, so no rail refuses the second: only the hold does, and without it the refunds hold
    twice what the payment brought in. The seed is the first of ``make simulate STEPS=12``
    that meets this with the hold's condition removed (seeds 18 and 20 of the first 21)."""
    monkeypatch.setattr(RefundStore, "hold", _hold_without_its_limit)
    _caught_shrunk_and_replayed(OVER_REFUNDING_SEED, "brought in", monkeypatch)
