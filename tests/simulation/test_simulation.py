"""The seeded simulation in the suite: 200 short seeds with faults hold every invariant, a seed
replays the same run, and a guard taken out is caught, with its seed and a shorter plan."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from chalicelib.ledger.models import AccountState, Counters
from tests.simulation.simulator import Outcome, close_stage, plan, run, shrink

SEEDS = 200
OVERDRAWING_SEED = 38
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


def test_a_seed_replays_the_same_run() -> None:
    first = run(7, plan(7, 12))
    again = run(7, plan(7, 12))
    assert first.outcomes == again.outcomes
    assert first.faults_fired == again.faults_fired
    assert plan(7, 5) == plan(7, 12)[:5]  # a longer run of a seed begins with the shorter one


def _without_the_overdraft_guard(self: AccountState, delta: Counters) -> Counters:
    return self.totals + delta


def test_a_broken_balance_guard_fails_with_its_seed_and_a_shorter_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ledger's refusal to take a case account below zero, taken out: two disbursements
    proposed at once for all a case holds, both approved, overdraw it. Seed 38 is the first
    of ``make simulate STEPS=12`` that meets this (found by running it with the guard out)."""
    monkeypatch.setattr(AccountState, "apply", _without_the_overdraft_guard)
    failure = run(OVERDRAWING_SEED, plan(OVERDRAWING_SEED, 12)).failure
    assert failure is not None, "the simulation did not notice the missing guard"
    assert "below zero" in failure.why
    replayed = run(OVERDRAWING_SEED, plan(OVERDRAWING_SEED, 12)).failure
    assert replayed is not None
    assert (replayed.step, replayed.why) == (failure.step, failure.why)
    shortest = shrink(failure)
    assert "below zero" in shortest.why
    assert len(shortest.ops) < failure.step + 1
    assert f"make simulate SEED={OVERDRAWING_SEED} STEPS=12" in shortest.report()
    monkeypatch.undo()  # with the guard back, the same plan holds
    assert run(OVERDRAWING_SEED, plan(OVERDRAWING_SEED, 12)).failure is None
