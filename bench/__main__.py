"""Run every benchmark module in this package and print one table."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence

import bench
from bench import Row

COLUMNS = ("area", "measure", "goal", "measured", "met", "note")


def discover() -> list[str]:
    """Module names under ``bench`` that expose ``run``, in alphabetical order."""
    names = []
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "run", None)):
            names.append(module.__name__)
    return sorted(names)


def render(rows: Sequence[Row]) -> str:
    cells = [list(COLUMNS)]
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "NO")
        cells.append([row.area, row.measure, row.goal, row.measured, met, row.note])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(only: Sequence[str]) -> int:
    rows: list[Row] = []
    for name in discover():
        if only and name.removeprefix("bench.") not in only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(name).run())
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
