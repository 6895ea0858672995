"""The API's OpenAPI 3.1 document, drawn from the route registry and the pydantic models.

Every route goes through ``chalicelib.http.route``, which records its roles, models, status and
media type in ``ROUTES``; the document is built from that record, so it cannot drift from the
code. Request bodies and query parameters are the models the edge validates with; each
successful JSON answer is the model the route declares for its status (the edge holds every
answer to it); a page, CSV or PDF is described by its media type; every error is
``application/problem+json`` with the problem types the code defines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib.http import ROUTES, RouteSpec
from chalicelib.problems import PROBLEM_BASE, ProblemError
from chalicelib.web.openapi_links import LINKS, Link

TITLE = "Court enforcement funds API (法院执行案款)"
VERSION = "1"
_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"\{([^}]+)\}")

# Errors every route can answer: the body or query refused, too large, the wrong media type,
# too many requests, or a failure on our side (which says whether it is safe to retry).
_COMMON_ERRORS = {
    "400": "The request is malformed",
    "404": "Not found, or not visible to the caller",
    "409": "The request conflicts with the record's state",
    "413": "The body is too large",
    "415": "The body is not JSON",
    "422": "The request has invalid fields",
    "429": "Too many requests from this client",
    "500": "Something went wrong on our side",
    "503": "A service this request needs did not answer",
}
_STAFF_ERRORS = {
    "401": "Sign-in required: no bearer token, or not a valid one",
    "403": "The caller's role or court does not allow this",
}


def problem_types() -> list[str]:
    """Every problem type the code defines, from the error classes loaded with the routes."""
    found: set[str] = set()
    pending: list[type[ProblemError]] = [ProblemError]
    while pending:
        kind = pending.pop()
        found.add(PROBLEM_BASE + kind.slug)
        pending.extend(kind.__subclasses__())
    return sorted(found)


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "An RFC 9457 problem; ``type`` names what went wrong, for programs.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri", "examples": problem_types()},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["pointer", "detail"],
                    "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
                },
            },
        },
    }


def _models(routes: Iterable[RouteSpec]) -> Iterator[tuple[type[BaseModel], JsonSchemaMode]]:
    for spec in routes:
        if spec.body is not None:
            yield spec.body, "validation"
        if spec.query is not None:
            yield spec.query, "validation"
        for model in spec.answers.values():
            yield model, "serialization"


def _query_parameters(schema: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model's fields as query parameters (the model itself is an object schema,
    reached through its reference)."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema.get("properties", {}).items()
    ]


def _answers(spec: RouteSpec, key_map: dict[Any, Any]) -> dict[str, Any]:
    """Each successful status with what it carries: the JSON of its model, else the route's
    page, CSV or file."""
    if spec.answers:
        return {
            str(status): {
                "description": "Done",
                "content": {"application/json": {"schema": key_map[(model, "serialization")]}},
            }
            for status, model in sorted(spec.answers.items())
        }
    if spec.media_type.startswith("text/"):
        schema: dict[str, Any] = {"type": "string"}
    else:
        schema = {"type": "string", "format": "binary"}
    return {
        str(spec.status): {"description": "Done", "content": {spec.media_type: {"schema": schema}}}
    }


def _operation(spec: RouteSpec, key_map: dict[Any, Any], defs: dict[str, Any]) -> dict[str, Any]:
    summary, _, description = spec.summary.partition("\n")
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(spec.path)
    ]
    if spec.query is not None:
        parameters += _query_parameters(key_map[(spec.query, "validation")], defs)
    problem = {"$ref": "#/components/schemas/Problem"}
    errors = {**_COMMON_ERRORS, **({} if spec.public else _STAFF_ERRORS)}
    responses: dict[str, Any] = {
        **_answers(spec, key_map),
        **{
            code: {
                "description": text,
                "content": {"application/problem+json": {"schema": problem}},
            }
            for code, text in errors.items()
        },
    }
    operation: dict[str, Any] = {
        "operationId": _operation_id(spec),
        "summary": summary.strip() or f"{spec.method} {spec.path}",
        "parameters": parameters,
        "responses": responses,
        "security": [] if spec.public else [{"bearer": []}],
        "x-roles": sorted(role.value for role in spec.roles),
    }
    if description.strip():
        operation["description"] = " ".join(description.split())
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": key_map[(spec.body, "validation")]}},
        }
    elif spec.raw_body:
        operation["requestBody"] = {
            "required": True,
            "description": "Read as raw bytes: a signed rail event, or a photo",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    if spec.rate_limit is not None:
        operation["x-rate-limit"] = spec.rate_limit
    return operation


def _operation_id(spec: RouteSpec) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", spec.path).strip("_") or "root"
    return f"{spec.method.lower()}_{words}"


def _has_field(schema: dict[str, Any], pointer: list[str], defs: dict[str, Any]) -> bool:
    """Whether an answer of ``schema`` can hold the JSON pointer (through references, nullable
    alternatives and list items)."""
    if "$ref" in schema:
        return _has_field(defs[schema["$ref"].rsplit("/", 1)[1]], pointer, defs)
    if not pointer:
        return True
    if "anyOf" in schema:
        return any(_has_field(option, pointer, defs) for option in schema["anyOf"])
    head, rest = pointer[0], pointer[1:]
    if head.isdigit() and "items" in schema:
        return _has_field(schema["items"], rest, defs)
    field = schema.get("properties", {}).get(head)
    return field is not None and _has_field(field, rest, defs)


def _link(
    spec: RouteSpec, link: Link, specs: dict[str, RouteSpec], answer: dict[str, Any], defs: Any
) -> tuple[str, dict[str, Any]]:
    """One link as the document shows it, refused if it names what is not there."""
    source = f"{spec.method} {spec.path}"
    target = specs.get(link.target)
    if target is None:
        raise ValueError(f"{source} links to {link.target}, which is not a route")
    if set(link.parameters) != set(_PATH_PARAM.findall(target.path)):
        raise ValueError(f"{source} -> {link.target}: the link must set every path parameter")
    for expression in link.parameters.values():
        if expression.startswith("$response.body#/"):
            pointer = expression.removeprefix("$response.body#/").split("/")
            if not _has_field(answer, pointer, defs):
                raise ValueError(f"{source} -> {link.target}: its answer has no {expression}")
        elif expression.removeprefix("$request.path.") not in _PATH_PARAM.findall(spec.path):
            raise ValueError(f"{source} -> {link.target}: no {expression} to take")
    operation_id = _operation_id(target)
    return operation_id, {"operationId": operation_id, "parameters": dict(link.parameters)}


def _add_links(
    specs: list[RouteSpec], paths: dict[str, Any], key_map: dict[Any, Any], defs: Any
) -> None:
    by_name = {f"{spec.method} {spec.path}": spec for spec in specs}
    for name, links in LINKS.items():
        spec = by_name.get(name)
        if spec is None or not spec.answers:
            raise ValueError(f"links leave from {name}, which is no route answering JSON")
        for status, model in spec.answers.items():
            answer = key_map[(model, "serialization")]
            documented = paths[spec.path][spec.method.lower()]["responses"][str(status)]
            documented["links"] = dict(_link(spec, link, by_name, answer, defs) for link in links)


def document(routes: Iterable[RouteSpec] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (every registered route by default)."""
    specs = sorted(routes if routes is not None else ROUTES, key=lambda s: (s.path, s.method))
    key_map, schemas = models_json_schema(list(dict.fromkeys(_models(specs))), ref_template=_REF)
    defs: dict[str, Any] = schemas.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, key_map, defs)
    if routes is None:
        _add_links(specs, paths, key_map, defs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "JSON over HTTPS; money is integer fen with an ISO currency. Errors are "
                "application/problem+json (RFC 9457). Staff routes need a bearer token from "
                "the court's sign-in; x-roles lists the roles a route admits."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {**defs, "Problem": _problem_schema()},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
