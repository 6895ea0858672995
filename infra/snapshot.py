"""Keeps the local stack's DynamoDB data across restarts: a snapshot file, written while moto
runs and read back when the stack starts again.

moto keeps everything in memory, so without this Ctrl-C lost every case, payment and ledger
entry, and counters (receipt numbers, account serials) started again from one. The snapshot is
taken with moto's request lock held, so it never holds half of a transaction, and written to a
temporary file renamed over the old one, so a crash mid-write leaves the previous snapshot.

    .local/data/dynamodb.json    {"tables": {"<table name>": [<item in DynamoDB JSON>, ...]}}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from infra.moto_server import SerialWSGI

BATCH = 25  # BatchWriteItem's limit


def take(app: SerialWSGI, path: Path, *, prefix: str) -> int:
    """Write every item of the tables named ``prefix...`` to ``path``; return the item count."""
    from moto.dynamodb.models import dynamodb_backends

    tables: dict[str, list[dict[str, Any]]] = {}
    with app.paused():
        for regions in dynamodb_backends.values():
            for backend in regions.values():
                for name, table in backend.tables.items():
                    if name.startswith(prefix):
                        items = [item.to_json()["Attributes"] for item in table.all_items()]
                        tables[name] = tables.get(name, []) + items
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"tables": tables}, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)
    return sum(len(items) for items in tables.values())


def restore(client: Any, path: Path) -> int:
    """Put back every item of the snapshot at ``path`` (the tables exist); return the count."""
    if not path.exists():
        return 0
    tables: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))["tables"]
    for name, items in tables.items():
        for start in range(0, len(items), BATCH):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH]]
            pending: dict[str, Any] = {name: requests}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
    return sum(len(items) for items in tables.values())
