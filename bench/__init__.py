"""Benchmarks (``make bench``): each module here exposes ``run() -> list[Row]``; ``python -m
bench`` runs them all and prints one table. Numbers are ratios against a baseline measured in
the same process, so they mean the same on a laptop and in CI; nothing here asserts timings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the table: what was measured, the goal, the value, and whether it is met
    (``None`` when the row is informative and has no goal)."""

    area: str
    measure: str
    goal: str
    measured: str
    met: bool | None
    note: str = ""
