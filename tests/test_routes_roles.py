"""Every route, with every role and without a token: sign-in and roles are enforced."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app import app
from chalicelib.http import ROUTES
from chalicelib.identity import Role


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "unknown1", path)


def _send(api: Any, method: str, path: str, headers: dict[str, str]) -> Any:
    return api.request(method, _concrete(path), headers=headers, body=b"{}")


def test_every_route_is_registered_through_the_http_edge() -> None:
    registered = {(path, method) for path, methods in app.routes.items() for method in methods}
    declared = {(spec.path, spec.method) for spec in ROUTES}
    assert registered == declared


@pytest.mark.parametrize(
    "spec", [s for s in ROUTES if not s.public], ids=lambda s: f"{s.method} {s.path}"
)
def test_staff_route_enforces_sign_in_and_roles(api: Any, token: Any, spec: Any) -> None:
    anonymous = _send(api, spec.method, spec.path, {"Content-Type": "application/json"})
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(anonymous.body)["type"].endswith("identity/not-signed-in")

    for role in Role:
        answer = _send(api, spec.method, spec.path, token(role.value))
        if role in spec.roles:
            assert answer.status_code not in (401, 403), (role, answer.body)
        else:
            assert answer.status_code == 403, (role, answer.body)
            assert json.loads(answer.body)["type"].endswith("identity/role-not-allowed")

    nobody = _send(api, spec.method, spec.path, token())
    assert nobody.status_code == 403


def test_auditor_can_change_nothing() -> None:
    # Requesting an export writes only the export itself: auditors may ask for one.
    writes = [s for s in ROUTES if s.method != "GET" and not s.public and s.path != "/exports"]
    assert writes
    assert all(Role.AUDITOR not in s.roles for s in writes)
