"""Dependencies point one way, for every package, including the capabilities still to come.

- The ledger knows no capability that uses it, so money can only come into a case through the
  use cases that count it.
- One composition root (``chalicelib/wiring/``) builds every service and adapter; only the
  entry points (``app.py``, each capability's ``routes.py``, the pages, the HTTP edge) ask it
  for one, so no capability builds its own dependencies or reaches the root from below. Its
  modules, one per capability, import each other in one direction and export every builder
  from the package, and importing it builds nothing.
- Entry points call services only: no store, no AWS or Stripe SDK, no ``.store`` reach-in.
- The shared kernel (money, clock, problems, settings ...) imports no capability, and only the
  settings read the environment.
- Capabilities depend on each other without cycles; models do no I/O.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import PROJECT_ROOT

CHALICELIB = PROJECT_ROOT / "chalicelib"
ROOT = "chalicelib.wiring"
USERS_OF_THE_LEDGER = ("chalicelib.collection", "chalicelib.cases", "chalicelib.notifications")
SDKS = ("boto3", "botocore", "stripe")


def imported_modules(source: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (a lazy import is still a
    dependency)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def module_name(source: Path) -> str:
    parts = source.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> Iterator[Path]:
    yield from sorted(CHALICELIB.rglob("*.py"))


def is_entry_point(source: Path) -> bool:
    """Where a request or a schedule comes in: routes, pages, the HTTP edge, and the route map
    that loads a capability's routes on its first request (every module it names)."""
    from chalicelib.route_map import CAPABILITIES

    return (
        source.name in ("routes.py", "pages.py")
        or module_name(source) in CAPABILITIES
        or source in (CHALICELIB / "http.py", CHALICELIB / "route_map.py")
    )


def in_the_root(source: Path) -> bool:
    return within(module_name(source), ROOT)


def capabilities() -> list[str]:
    return sorted(
        f"chalicelib.{d.name}"
        for d in CHALICELIB.iterdir()
        if (d / "__init__.py").is_file() and f"chalicelib.{d.name}" != ROOT
    )


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_ledger_imports_none_of_the_capabilities_that_use_it() -> None:
    ledger = sorted((CHALICELIB / "ledger").glob("*.py"))
    assert ledger
    for source in ledger:
        wrong = {
            name
            for name in imported_modules(source)
            if any(within(name, user) for user in USERS_OF_THE_LEDGER)
        }
        assert not wrong, f"{source.name} imports {sorted(wrong)}"


def test_only_entry_points_reach_the_composition_root() -> None:
    reaching = [
        module_name(source)
        for source in sources()
        if not in_the_root(source)
        and not is_entry_point(source)
        and any(within(name, ROOT) for name in imported_modules(source))
    ]
    assert reaching == []


def test_only_the_composition_root_builds_aws_clients() -> None:
    building = []
    for source in [*sources(), PROJECT_ROOT / "app.py"]:
        if in_the_root(source):
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "boto3"
            ):
                building.append(f"{module_name(source)}:{node.lineno}")
    assert building == []


def test_no_package_builds_its_own_services() -> None:
    """A package's ``__init__`` exports names; the composition root builds the services."""
    factories = []
    for init in sorted(CHALICELIB.glob("*/__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        factories += [
            f"{module_name(init)}.{node.name}"
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name != "__getattr__"  # a lazy export, not a factory
        ]
    assert factories == []


def test_the_composition_root_imports_its_own_modules_in_one_direction() -> None:
    """A capability's wiring imports the builders it needs from the others at the top; a
    reference back would be a cycle that breaks (or silently changes) at import, so it is
    imported inside the builder, when first built."""
    modules = sorted((CHALICELIB / "wiring").glob("*.py"))
    assert len(modules) > 2
    uses: dict[str, set[str]] = {}
    for source in modules:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        uses[module_name(source)] = {
            node.module
            for node in tree.body  # the top level only: a builder's own import runs when built
            if isinstance(node, ast.ImportFrom)
            and node.module
            and within(node.module, ROOT)
            and node.module != ROOT
        }

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for other in uses.get(start, set()):
            if other == target or (other not in seen and reaches(other, target, seen | {other})):
                return True
        return False

    cyclic = sorted(name for name in uses if reaches(name, name, {name}))
    assert cyclic == []


def test_every_builder_of_the_composition_root_is_exported_from_it() -> None:
    """Callers write ``from chalicelib.wiring import x`` whichever module builds ``x``."""
    import importlib

    import chalicelib.wiring as root

    for source in sorted((CHALICELIB / "wiring").glob("*.py")):
        if source.name == "__init__.py":
            continue
        module = importlib.import_module(module_name(source))
        builders = [
            node.name
            for node in ast.parse(source.read_text(encoding="utf-8")).body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
        ]
        assert builders, source.name
        for name in builders:
            assert name in root.__all__, f"{module_name(source)}.{name} is not exported"
            assert getattr(root, name) is getattr(module, name)


def test_importing_the_composition_root_builds_nothing() -> None:
    """No AWS client, no SDK and no capability is loaded until a builder is first called."""
    import subprocess
    import sys

    probe = (
        "import sys, chalicelib.wiring as w; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'stripe') "
        "or (m.startswith('chalicelib.') and not m.startswith('chalicelib.wiring') "
        "and m != 'chalicelib.clock')), w.shared._cache)"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[] {}"


def test_only_the_shared_stripe_module_builds_a_stripe_client() -> None:
    """Every rail on Stripe gets its client, its error handling and its webhook check from
    ``chalicelib/stripe_api.py``, so Stripe's answers mean the same on every rail."""
    building = []
    for source in sources():
        if source == CHALICELIB / "stripe_api.py":
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("StripeClient", "WebhookSignature", "StripeError")
                and isinstance(node.value, ast.Name)
                and node.value.id == "stripe"
            ):
                building.append(f"{module_name(source)}:{node.lineno}")
    assert building == []


def test_entry_points_call_services_only() -> None:
    for source in [*filter(is_entry_point, sources()), PROJECT_ROOT / "app.py"]:
        names = imported_modules(source)
        wrong = {
            name
            for name in names
            if any(within(name, sdk) for sdk in SDKS)
            or name.rsplit(".", 1)[-1] in ("store", "stripe_rail")
            or ".store." in name
        }
        assert not wrong, f"{module_name(source)} imports {sorted(wrong)}"
        tree = ast.parse(source.read_text(encoding="utf-8"))
        reach_ins = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in ("store", "rail")
        ]
        assert reach_ins == [], f"{module_name(source)} reaches past a service at {reach_ins}"


def test_the_shared_kernel_imports_no_capability() -> None:
    kernel = [s for s in CHALICELIB.glob("*.py") if not is_entry_point(s)]
    assert kernel
    for source in kernel:
        wrong = {
            name
            for name in imported_modules(source)
            if any(within(name, package) for package in capabilities())
        }
        assert not wrong, f"{module_name(source)} imports {sorted(wrong)}"


def test_capabilities_depend_on_each_other_without_cycles() -> None:
    packages = capabilities()
    uses: dict[str, set[str]] = {package: set() for package in packages}
    for source in sources():
        own = next((p for p in packages if within(module_name(source), p)), None)
        if own is None or is_entry_point(source):
            continue
        for name in imported_modules(source):
            other = next((p for p in packages if within(name, p)), None)
            if other is not None and other != own:
                uses[own].add(other)

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for other in sorted(uses[path[-1]]):
            if other == start:
                return [*path, other]
            if other not in path:
                found = cycle_from(start, [*path, other])
                if found:
                    return found
        return None

    for package in packages:
        assert cycle_from(package, [package]) is None, " -> ".join(
            cycle_from(package, [package]) or []
        )


def test_models_do_no_io() -> None:
    models = sorted(CHALICELIB.glob("*/models.py"))
    assert models
    for source in models:
        wrong = {
            name
            for name in imported_modules(source)
            if any(within(name, sdk) for sdk in SDKS) or within(name, ROOT)
        }
        assert not wrong, f"{module_name(source)} imports {sorted(wrong)}"


def test_only_the_settings_read_the_environment() -> None:
    """Every setting goes through the one validated object, so every stage can be checked."""
    reading = []
    for source in [*sources(), PROJECT_ROOT / "app.py"]:
        if source.name == "settings.py":
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                reading.append(f"{module_name(source)}:{node.lineno}")
    assert reading == []


def test_importing_the_app_imports_no_capability_until_a_route_runs() -> None:
    """A cold start registers the routes from the route map: no capability, no model, no
    pydantic and no AWS or Stripe SDK is imported until a request needs them
    (``tests/test_route_map.py`` shows a request loading only its own capability)."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys, app; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith(('chalicelib', 'pydantic', 'boto3', 'stripe')))))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    # the edge's own small modules: logs, the route map, and the invocation's deadline for waits
    assert loaded == ["chalicelib", "chalicelib.logs", "chalicelib.retry", "chalicelib.route_map"]


def test_the_route_map_loads_entry_points_only() -> None:
    """The map imports its modules by name, which the import checks above cannot see: each is
    an entry point, so the rules for entry points hold for what it loads."""
    from chalicelib.route_map import CAPABILITIES

    for module in CAPABILITIES:
        source = PROJECT_ROOT / (module.replace(".", "/") + ".py")
        assert source.is_file(), module
        assert is_entry_point(source) or source.parent == CHALICELIB / "web", module
