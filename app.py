"""Court enforcement funds API: every capability's routes, each loaded on its first request.

Routes live beside their capability (``chalicelib/<capability>/routes.py``, listed in
``chalicelib.route_map.CAPABILITIES``) and go through ``chalicelib.http.route`` for sign-in,
parsing and problem+json errors. This module registers them from the route map, so a cold start
imports no capability: the first request to a route imports the one that serves it.
"""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib import route_map
from chalicelib.logs import configure, log_context
from chalicelib.retry import deadline_from_lambda

configure()  # every log line masked and JSON from the first

app = Chalice(app_name="court-funds")
app.register_middleware(log_context, "all")
app.register_middleware(deadline_from_lambda, "all")
app.api.binary_types = ["application/pdf", "image/jpeg", "image/png", "application/octet-stream"]

# Each schedule and each function invoked by name is deployed as ``app.<function>``: its Lambda
# starts here as the API's does, with logs configured and the log middleware around it.
for _name, _handler in route_map.register(app).items():
    if _name in globals():
        raise ValueError(f"{_name}: a schedule or function by this name would hide app.{_name}")
    globals()[_name] = _handler
