"""Every route goes through the HTTP edge, and auditors change nothing. Who may call each
route, and what another court sees there, is the access matrix (tests/test_access_matrix.py)."""

from __future__ import annotations

from app import app
from chalicelib import route_map
from chalicelib.http import ROUTES
from chalicelib.identity import Role

route_map.load_all()  # a capability's routes join the registry when it is loaded


def test_every_route_is_registered_through_the_http_edge() -> None:
    registered = {(path, method) for path, methods in app.routes.items() for method in methods}
    declared = {(spec.path, spec.method) for spec in ROUTES}
    assert registered == declared


def test_auditor_can_change_nothing() -> None:
    # Requesting an export writes only the export itself: auditors may ask for one.
    writes = [s for s in ROUTES if s.method != "GET" and not s.public and s.path != "/exports"]
    assert writes
    assert all(Role.AUDITOR not in s.roles for s in writes)
