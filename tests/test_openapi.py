"""The OpenAPI document matches the code: every route, its models, its sign-in, as served."""

from __future__ import annotations

import json
import re
from typing import Any

from openapi_spec_validator import validate

from app import app
from chalicelib import route_map
from chalicelib.http import ROUTES
from chalicelib.web import openapi

route_map.load_all()  # a capability's routes join the registry when it is loaded


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi.document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_registered_route_is_documented_and_nothing_else() -> None:
    paths = openapi.document()["paths"]
    registered = {
        (path, method.lower()) for path, methods in app.routes.items() for method in methods
    }
    documented = {(path, method) for path, methods in paths.items() for method in methods}
    assert registered == documented
    assert ("/openapi.json", "get") in documented


def test_each_route_documents_its_sign_in_models_and_errors() -> None:
    paths = openapi.document()["paths"]
    for spec in ROUTES:
        operation = paths[spec.path][spec.method.lower()]
        where = f"{spec.method} {spec.path}"
        if spec.public:
            assert operation["security"] == [], where
            assert "401" not in operation["responses"], where
        else:
            assert operation["security"] == [{"bearer": []}], where
            assert set(operation["x-roles"]) == {role.value for role in spec.roles}, where
            assert "401" in operation["responses"], where
            assert "403" in operation["responses"], where
        if spec.body is not None:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert (
                schema["$ref"].endswith(spec.body.__name__) or spec.body.__name__ in schema["$ref"]
            )
        if spec.query is not None:
            names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
            assert names == set(spec.query.model_fields), where
        path_names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert path_names == set(re.findall(r"\{([^}]+)\}", spec.path)), where
        assert str(spec.status) in operation["responses"], where
        assert spec.media_type in operation["responses"][str(spec.status)]["content"], where
        problem = operation["responses"]["422"]["content"]["application/problem+json"]
        assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_every_problem_type_of_the_code_is_listed() -> None:
    listed = openapi.document()["components"]["schemas"]["Problem"]["properties"]["type"]
    for slug in ("validation-failed", "identity/not-signed-in", "identity/role-not-allowed"):
        assert openapi.PROBLEM_BASE + slug in listed["examples"]


def test_the_app_serves_the_generated_document(api: Any) -> None:
    answer = api.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert json.loads(answer.body) == openapi.document()


def test_the_readable_page_lists_every_route_without_scripts_or_outside_resources(
    api: Any,
) -> None:
    answer = api.get("/api-docs")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    page = answer.body.decode()
    for spec in ROUTES:
        assert f"{spec.method} {spec.path}".replace("&", "&amp;") in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "script-src" not in answer.headers["Content-Security-Policy"]


def test_an_answer_with_a_model_validates_against_its_documented_schema(
    api: Any, token: Any
) -> None:
    from jsonschema import Draft202012Validator

    from chalicelib.wiring import ledger_service
    from tests.ledger.conftest import CASE_A, collect

    ledger = ledger_service()
    ledger.ensure_system_accounts()
    ledger.open_case_account(CASE_A, case_id="case-a")
    collect(ledger, CASE_A, 12_345, "pay-contract-1")
    document = openapi.document()
    auditor = token("auditor")
    for path, template in (
        (f"/ledger/accounts/{CASE_A}/balance", "/ledger/accounts/{account_id}/balance"),
        (f"/ledger/accounts/{CASE_A}/verify", "/ledger/accounts/{account_id}/verify"),
        ("/ledger/transfers/pay-contract-1", "/ledger/transfers/{transfer_id}"),
    ):
        answer = api.get(path, headers=auditor)
        assert answer.status_code == 200, (path, answer.body)
        content = document["paths"][template]["get"]["responses"]["200"]["content"]
        schema = content["application/json"]["schema"]
        assert "$ref" in schema, template
        validator = Draft202012Validator({**schema, "components": document["components"]})
        errors = [e.message for e in validator.iter_errors(json.loads(answer.body))]
        assert errors == [], (path, errors)
        wrong = {**json.loads(answer.body)}
        wrong.pop(next(iter(wrong)))
        assert not validator.is_valid(wrong), f"{template}: the schema requires nothing"
