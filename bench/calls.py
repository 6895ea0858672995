"""The DynamoDB calls a piece of work sends, counted through botocore's events: how the
benches show what each step of the product costs in calls, by name or by a kind of their own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@contextmanager
def counting(
    client: Any, kind: Callable[[str, dict[str, Any]], str] | None = None
) -> Iterator[Counter[str]]:
    """Within the block, ``calls[k]`` counts the calls of each kind ``k``: the operation's name,
    or what ``kind(name, params)`` makes of it (params are the API parameters, table names
    included)."""
    calls: Counter[str] = Counter()

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls[kind(model.name, params) if kind else model.name] += 1

    # before-parameter-build fires once per call and sees the parameters the caller gave
    client.meta.events.register("before-parameter-build.dynamodb", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", count)


def names(calls: Counter[str], per: int = 1, prefix: str = "") -> str:
    """``"2 GetItem, 1 TransactWriteItems"``: the calls whose kind starts with ``prefix``, each
    divided by ``per`` (a count per event when ``per`` events were sent)."""
    found = {k.removeprefix(prefix): n for k, n in calls.items() if k.startswith(prefix)}
    shown = ((name, str(n) if per == 1 else f"{n / per:.2g}") for name, n in sorted(found.items()))
    return ", ".join(f"{n} {name}" for name, n in shown) or "none"
