"""``make simulate``: many seeds, longer plans, the auditors' check at the end of each run.

    python -m tests.simulation --seeds 500 --steps 30     # seeds 0..499
    python -m tests.simulation --seed 1234 --steps 30     # replay one seed

A failing seed is shrunk to the shortest plan that still fails and printed with how to
replay it; the exit status is 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from tests.simulation.simulator import plan, run, shrink


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation")
    parser.add_argument("--seeds", type=int, default=200, help="how many seeds, from --first")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--seed", type=int, help="replay this one seed")
    parser.add_argument("--steps", type=int, default=30, help="operations per seed")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the services log every refusal; the report says enough
    seeds = [args.seed] if args.seed is not None else range(args.first, args.first + args.seeds)
    started = time.monotonic()
    operations = faults = fired = 0
    for seed in seeds:
        outcome = run(seed, plan(seed, args.steps), audit=True)
        operations += outcome.operations
        faults += outcome.faults_armed
        fired += outcome.faults_fired
        if outcome.failure is not None:
            print(shrink(outcome.failure).report())
            return 1
    print(
        f"{len(seeds)} seeds, {operations} operations, {faults} faults armed, {fired} fired: "
        f"every invariant held ({time.monotonic() - started:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
