"""The route map registers exactly what the capabilities' modules register, and a cold start
imports no capability until a request needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app import app
from chalicelib import route_map
from tests.conftest import PROJECT_ROOT


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return (item.get("path") or item["name"], item.get("method", ""))


def test_the_map_is_what_the_modules_register() -> None:
    assert route_map.stored() == route_map.scan(), "run: python -m chalicelib.route_map"


def test_the_app_registers_what_every_module_registers() -> None:
    """Paths, methods, view names, route options, docstrings (the API's summaries), schedules
    with their expressions, functions invoked by name: what ``chalice package`` and the local
    server read, the same as when the app registered each module's blueprint, but for the
    schedules' handlers, which start in ``app``."""
    served = route_map.describe(app)
    for part, items in route_map.scan().items():
        modules = [{k: v for k, v in item.items() if k != "module"} for item in items]
        if part != "routes":
            modules = [{**item, "handler": "app." + item["name"]} for item in modules]
        assert sorted(served[part], key=_key) == sorted(modules, key=_key), part


def test_the_command_reports_a_stale_map_and_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapped = route_map.stored()
    stale = tmp_path / "route_map.json"
    stale.write_text(json.dumps({**mapped, "routes": mapped["routes"][1:]}), encoding="utf-8")
    monkeypatch.setattr(route_map, "MAP_FILE", stale)
    assert route_map.main(["--check"]) == 1
    assert route_map.main([]) == 0
    assert route_map.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8") == (
        PROJECT_ROOT / "chalicelib/route_map.json"
    ).read_text(encoding="utf-8")


def _fresh(code: str) -> Any:
    """Run ``code`` in a fresh interpreter (the test session has loaded everything); it prints
    one JSON value."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


_LOADED = (
    "sorted(m for m in sys.modules if m in route_map.CAPABILITIES or m.startswith('pydantic') "
    "or m.startswith('chalicelib.') and m.endswith('.models'))"
)


def test_a_cold_start_imports_no_capability_and_a_request_only_the_one_it_needs() -> None:
    found = _fresh(
        "import json, sys\n"
        "from chalice.test import Client\n"
        "import app\n"
        "from chalicelib import route_map\n"
        f"cold = {_LOADED}\n"
        "with Client(app.app) as client:\n"
        "    answer = client.http.get('/health')\n"
        f"print(json.dumps([cold, answer.status_code, answer.json_body, {_LOADED}]))\n"
    )
    cold, status, body, after = found
    assert cold == []
    assert (status, body) == (200, {"status": "ok"})
    assert [m for m in after if m in route_map.CAPABILITIES] == ["chalicelib.web.landing"]
    assert not any(m.endswith(".models") for m in after)


def test_the_contract_served_first_lists_every_route() -> None:
    found = _fresh(
        "import json\n"
        "from chalice.test import Client\n"
        "import app\n"
        "with Client(app.app) as client:\n"
        "    document = client.http.get('/openapi.json').json_body\n"
        "    page = client.http.get('/').body.decode()\n"
        "print(json.dumps([\n"
        "    sorted([p, m.lower()] for p, ms in document['paths'].items() for m in ms),\n"
        "    sorted([p, m.lower()] for p, ms in app.app.routes.items() for m in ms),\n"
        "    page.count('<tr><td>'),\n"
        "]))\n"
    )
    documented, registered, listed = found
    assert documented == registered
    assert listed == len(registered)


def test_every_schedule_and_invoked_function_starts_in_the_app() -> None:
    import app as app_module

    functions = [*app.event_sources, *app.pure_lambda_functions]
    assert len(functions) == len(route_map.stored()["schedules"] + route_map.stored()["invoked"])
    for function in functions:
        module, name = function.handler_string.rsplit(".", 1)
        assert module == "app", function.handler_string
        handler = getattr(app_module, name)
        assert handler is app.handler_map[function.name]


@pytest.mark.usefixtures("aws")
def test_a_schedule_run_through_its_deployed_handler_runs_its_modules_function() -> None:
    import app as app_module

    context = SimpleNamespace(aws_request_id="5e1f0c2a-0000-4000-8000-000000000001")
    event = {"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "1", "time": "2026-11-02T09:00:00Z", "region": "us-east-1",
             "resources": [], "detail": {}}  # fmt: skip
    assert app_module.expire_pending_transfers(event, context) == {"expired": 0}


def test_a_schedules_log_lines_are_masked_json_with_the_invocations_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import logging

    import app as app_module
    from chalicelib.logs import configure

    def sweep(event: dict[str, Any], context: Any) -> str:
        logging.getLogger("chalicelib.collection").info("told 13812345678")
        return "swept"

    monkeypatch.setattr("chalicelib.collection.routes.sweep_payments", sweep)
    handler = configure().logger_handler
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    original = handler.setStream(captured)
    context = SimpleNamespace(aws_request_id="5e1f0c2a-0000-4000-8000-000000000002")
    event = {"version": "0", "id": "e-2", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "1", "time": "2026-11-02T09:00:00Z", "region": "us-east-1",
             "resources": [], "detail": {}}  # fmt: skip
    try:
        assert app_module.sweep_payments(event, context) == "swept"
    finally:
        handler.setStream(original)
    [line] = [json.loads(text) for text in captured.getvalue().splitlines()]
    assert line["message"] == "told 138****5678"
    assert line["correlation_id"] == context.aws_request_id
