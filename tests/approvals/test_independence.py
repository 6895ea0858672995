"""The chain decides and the owner acts: approvals imports none of the capabilities it serves."""

from __future__ import annotations

from tests.conftest import PROJECT_ROOT
from tests.test_dependencies import imported_modules

OWNERS = (
    "chalicelib.refunds",
    "chalicelib.payouts",
    "chalicelib.disbursements",
    "chalicelib.collection",
    "chalicelib.ledger",
    "chalicelib.cases",
)


def test_approvals_imports_none_of_its_owners() -> None:
    sources = sorted((PROJECT_ROOT / "chalicelib" / "approvals").glob("*.py"))
    assert len(sources) >= 5
    for source in sources:
        wrong = {
            name
            for name in imported_modules(source)
            if any(name == owner or name.startswith(owner + ".") for owner in OWNERS)
        }
        assert not wrong, f"{source.name} imports {sorted(wrong)}"
