"""The API's routes and schedules as a map, so a cold start registers them without importing them.

``route_map.json`` lists what the modules in ``CAPABILITIES`` register on the app: every route
(path, method, the Chalice route options, the view's name and docstring, and the module that
serves it), every schedule and every function invoked by name. ``register(app)`` puts all of
them on the app with thin handlers. The first request to a route imports the module that serves
it (with pydantic, its models and its services) and hands the request to the real view, so a
Lambda cold start pays for Chalice and this map, and a request pays only for the capability it
needs. A schedule's or invoked function's Lambda starts in ``app`` too (``app.sweep_payments``),
so its log lines are masked JSON with the invocation's id, as the API's are.
The landing page and the API's contract list every route, so they load every capability first.

``python -m chalicelib.route_map`` rewrites the map from the modules (``--check`` only compares);
``tests/test_route_map.py`` fails when the map and the modules disagree.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalice.app import Chalice, Cron, Rate, ScheduledEventConfig

# Each module exposes ``blueprint``; the order is the order the app registers them in.
CAPABILITIES = (
    "chalicelib.approvals.routes",
    "chalicelib.audit.routes",
    "chalicelib.cases.routes",
    "chalicelib.collection.routes",
    "chalicelib.exports.routes",
    "chalicelib.identity.routes",
    "chalicelib.identity.liveness_routes",
    "chalicelib.payouts.routes",
    "chalicelib.ledger.routes",
    "chalicelib.refunds.routes",
    "chalicelib.reconciliation.routes",
    "chalicelib.web.pages",
    "chalicelib.workdays.routes",
    "chalicelib.deadlines.routes",
    "chalicelib.monitoring.routes",
    "chalicelib.web.landing",
    "chalicelib.web.api_docs",
)
# Routes that show the route registry (``chalicelib.http.ROUTES``): it holds every route only
# once every capability is loaded.
LIST_EVERY_ROUTE = frozenset({("GET", "/"), ("GET", "/openapi.json"), ("GET", "/api-docs")})
MAP_FILE = Path(__file__).with_name("route_map.json")

Described = dict[str, list[dict[str, Any]]]


def describe(app: Chalice) -> Described:
    """What an app registers, as JSON: routes, schedules and functions invoked by name."""
    import inspect  # only the map's generator and its test describe an app

    routes: list[dict[str, Any]] = []
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if entry.authorizer is not None or entry.cors is not None:
                # Sign-in is the HTTP edge's (chalicelib/http.py), and no route shares itself
                # with other sites; a route that needed either would not survive the map.
                raise ValueError(f"{method} {path}: the route map carries no authorizer or CORS")
            routes.append(
                {
                    "path": path,
                    "method": method,
                    "view": entry.view_name,
                    "content_types": entry.content_types,
                    "api_key_required": entry.api_key_required,
                    "doc": inspect.getdoc(entry.view_function) or "",
                }
            )
    schedules = []
    for source in app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            raise ValueError(f"{source.name}: the route map carries schedules only")
        schedules.append(
            {
                "name": source.name,
                "handler": source.handler_string,
                "schedule": _schedule_json(source.schedule_expression),
                "description": source.description,
            }
        )
    invoked = [
        {"name": function.name, "handler": function.handler_string}
        for function in app.pure_lambda_functions
    ]
    return {"routes": routes, "schedules": schedules, "invoked": invoked}


def scan() -> Described:
    """The map as the modules make it, module by module."""
    found: Described = {"routes": [], "schedules": [], "invoked": []}
    for module in CAPABILITIES:
        described = describe(loaded(module))
        found["routes"] += [{**route, "module": module} for route in described["routes"]]
        found["schedules"] += described["schedules"]
        found["invoked"] += described["invoked"]
    return found


def stored() -> Described:
    mapped: Described = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    return mapped


def register(app: Chalice) -> dict[str, Callable[..., Any]]:
    """Register every mapped route, schedule and invoked function on ``app``, each served by
    its module once first called. Returns the schedules' and invoked functions' handlers by
    function name: Chalice deploys each as ``app.<function>``, so the app module exposes them."""
    mapped = stored()
    for item in mapped["routes"]:
        app.route(
            item["path"],
            methods=[item["method"]],
            name=item["view"],
            content_types=item["content_types"],
            api_key_required=item["api_key_required"],
        )(_route_view(app, item))
    handlers: dict[str, Callable[..., Any]] = {}
    for item in mapped["schedules"]:
        module, function = item["handler"].rsplit(".", 1)
        handlers[function] = app.schedule(
            _schedule(item["schedule"]), name=item["name"], description=item["description"]
        )(_scheduled(module, function))
    for item in mapped["invoked"]:
        module, function = item["handler"].rsplit(".", 1)
        handlers[function] = app.lambda_function(name=item["name"])(_invoked(module, function))
    return handlers


# Each loaded module's blueprint, registered on an app of its own. Chalice lets a blueprint be
# registered once per process (registering it consumes its routes' options), so every user of a
# module's routes, the serving apps and the map's generator alike, shares this one.
_loaded: dict[str, Chalice] = {}
_lock = threading.Lock()


def loaded(module: str) -> Chalice:
    """The app holding ``module``'s routes, importing the module on first use."""
    with _lock:
        if module not in _loaded:
            holder = _quiet_app()
            holder.register_blueprint(importlib.import_module(module).blueprint)
            _loaded[module] = holder
        return _loaded[module]


def load_all() -> None:
    """Import every capability, so the route registry (``chalicelib.http.ROUTES``) is whole."""
    for module in CAPABILITIES:
        loaded(module)


def _route_view(serving: Chalice, item: dict[str, Any]) -> Callable[..., Any]:
    module, path, method = item["module"], item["path"], item["method"]
    every_route = (method, path) in LIST_EVERY_ROUTE

    def view(**params: str) -> Any:
        if every_route:
            load_all()
        holder = loaded(module)
        # The real view reads the request from its blueprint's app: hand it this request.
        holder.current_request = serving.current_request
        holder.lambda_context = serving.lambda_context
        return holder.routes[path][method].view_function(**params)

    view.__name__ = item["view"]
    view.__doc__ = item["doc"] or None
    return view


def _scheduled(module: str, function: str) -> Callable[..., Any]:
    def run(event: Any) -> Any:
        handler = getattr(importlib.import_module(module), function)
        return handler(event.to_dict(), event.context)

    run.__name__ = function
    return run


def _invoked(module: str, function: str) -> Callable[..., Any]:
    def run(event: dict[str, Any], context: Any) -> Any:
        return getattr(importlib.import_module(module), function)(event, context)

    run.__name__ = function
    return run


def _quiet_app(name: str = "court-funds") -> Chalice:
    """A Chalice app that only holds registrations: no log handler, no environment change."""
    return Chalice(app_name=name, configure_logs=False, env={})


def _schedule_json(expression: Any) -> dict[str, list[Any]]:
    if isinstance(expression, Rate):
        return {"rate": [expression.value, expression.unit]}
    if isinstance(expression, Cron):
        fields = ("minutes", "hours", "day_of_month", "month", "day_of_week", "year")
        return {"cron": [getattr(expression, name) for name in fields]}
    raise ValueError(f"{expression!r}: write a schedule as chalice's Rate or Cron")


def _schedule(written: dict[str, list[Any]]) -> Rate | Cron:
    if "rate" in written:
        value, unit = written["rate"]
        return Rate(value, unit=unit)
    return Cron(*written["cron"])


def _map_text(found: Described) -> str:
    """One line per route, schedule or function, so a change to the map reads as one line."""
    sections = []
    for key, items in found.items():
        lines = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in items)
        sections.append(f" {json.dumps(key)}: [\n{lines}\n ]")
    return "{\n" + ",\n".join(sections) + "\n}\n"


def main(argv: list[str]) -> int:
    found = scan()
    if argv == ["--check"]:
        same = found == stored()
        print("the route map matches the modules" if same else "the route map is stale")
        return 0 if same else 1
    MAP_FILE.write_text(_map_text(found), encoding="utf-8")
    print(f"wrote {MAP_FILE.name}: {len(found['routes'])} routes, {len(found['schedules'])} "
          f"schedules, {len(found['invoked'])} functions invoked by name")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
