"""Dependencies point one way: collection uses the ledger, and the ledger knows no capability
that uses it, so money can only come into a case through the use cases that count it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PROJECT_ROOT

USERS_OF_THE_LEDGER = ("chalicelib.collection", "chalicelib.cases", "chalicelib.notifications")


def imported_modules(source: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_ledger_imports_none_of_the_capabilities_that_use_it() -> None:
    sources = sorted((PROJECT_ROOT / "chalicelib" / "ledger").glob("*.py"))
    assert sources
    for source in sources:
        wrong = {
            name
            for name in imported_modules(source)
            if any(name == user or name.startswith(user + ".") for user in USERS_OF_THE_LEDGER)
        }
        assert not wrong, f"{source.name} imports {sorted(wrong)}"
