"""The OpenAPI document matches the code: every route, its models, its sign-in, as served."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
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
        succeeded = {code for code in operation["responses"] if code.startswith(("1", "2", "3"))}
        if spec.media_type == "application/json":
            assert succeeded == {str(status) for status in spec.answers}, where
        else:
            assert succeeded == {str(spec.status)}, where
            assert spec.media_type in operation["responses"][str(spec.status)]["content"], where
        problem = operation["responses"]["422"]["content"]["application/problem+json"]
        assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_every_json_answer_is_the_model_its_route_declares() -> None:
    """No route answers "any JSON": each successful status names the model the edge holds the
    answer to, as the model itself draws its schema."""
    document = openapi.document()
    schemas = document["components"]["schemas"]
    json_routes = [spec for spec in ROUTES if spec.media_type == "application/json"]
    assert len(json_routes) > 100
    for spec in json_routes:
        operation = document["paths"][spec.path][spec.method.lower()]
        for status, model in spec.answers.items():
            where = f"{spec.method} {spec.path} {status}"
            content = operation["responses"][str(status)]["content"]
            assert list(content) == ["application/json"], where
            reference = content["application/json"]["schema"]["$ref"]
            documented = schemas[reference.removeprefix("#/components/schemas/")]
            drawn = model.model_json_schema(mode="serialization")
            assert documented.get("title") == drawn.get("title"), where
            assert set(documented.get("properties", {})) == set(drawn.get("properties", {})), where
            assert documented.get("required") == drawn.get("required"), where


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


def test_an_answer_off_its_contract_never_leaves(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The edge holds each answer to the model its route declares: a field the model does not
    name, a field missing or of another type, or a status the route does not declare is our
    error (500, logged with the route), and the off-contract body is not sent."""
    from chalice.app import Chalice, Response
    from chalice.test import Client

    from chalicelib import http
    from chalicelib.answers import AnswerBody

    monkeypatch.setattr(http, "ROUTES", [])  # this app's routes stay out of the registry
    contract_app = Chalice(app_name="contract")

    class Shown(AnswerBody):
        case_id: str
        paid: int

    answers: dict[str, Any] = {
        "/kept": {"case_id": "c-1", "paid": 100},
        "/extra": {"case_id": "c-1", "paid": 100, "id_number": "110101199003074514"},
        "/missing": {"case_id": "c-1"},
        "/text-for-number": {"case_id": "c-1", "paid": "100"},
        "/model": Shown(case_id="c-1", paid=100),
    }
    for path, body in answers.items():
        http.route(contract_app, path, public=True, answer=Shown)(lambda call, body=body: body)
    http.route(contract_app, "/undeclared-status", public=True, answer=Shown)(
        lambda call: http.json_response({"case_id": "c-1", "paid": 1}, status=202)
    )
    http.route(contract_app, "/created", public=True, answer={201: Shown})(
        lambda call: Response(body='{"case_id":"c-1","paid":1}', status_code=201)
    )
    http.route(contract_app, "/change", methods=["POST"], public=True, answer=Shown)(
        lambda call: answers["/extra"]
    )
    with pytest.raises(ValueError, match="names the model of its answer"):
        http.route(contract_app, "/no-contract", public=True)(lambda call: {})

    with Client(contract_app) as client, caplog.at_level(logging.ERROR):
        for path in ("/kept", "/model"):
            answer = client.http.get(path)
            assert answer.status_code == 200, path
            assert json.loads(answer.body) == {"case_id": "c-1", "paid": 100}
        assert client.http.get("/created").status_code == 201
        for path in ("/extra", "/missing", "/text-for-number", "/undeclared-status"):
            answer = client.http.get(path)
            assert answer.status_code == 500, path
            assert answer.headers["Content-Type"].startswith("application/problem+json")
            assert b"110101199003074514" not in answer.body
            assert "nothing was changed" in json.loads(answer.body)["detail"]
        # A change whose answer breaks the contract was still made: the caller is told so.
        changed = client.http.post("/change")
        assert changed.status_code == 500
        detail = json.loads(changed.body)["detail"]
        assert "the request was carried out" in detail
        assert "nothing was changed" not in detail
        assert b"110101199003074514" not in changed.body
    logged = caplog.text
    assert "/extra answered off its contract Shown: /id_number: extra_forbidden" in logged
    assert "/missing answered off its contract Shown: /paid: missing" in logged
    assert "/text-for-number answered off its contract Shown: /paid: int_type" in logged
    assert "/undeclared-status answered 202, which its contract does not name" in logged
    assert "110101199003074514" not in logged
