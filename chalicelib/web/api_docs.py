"""The API's contract as served: ``/openapi.json`` for programs and ``/api-docs`` for people.

The page is rendered on the server from the same document, without scripts or outside
resources, so it reads on a court's network that reaches nothing beyond this service.
"""

from __future__ import annotations

import html
import json
from functools import cache
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.answers import AnswerBody
from chalicelib.http import Call, route
from chalicelib.web import openapi

blueprint = Blueprint(__name__)


class OpenApiDocument(AnswerBody):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API 接口说明 · Court enforcement funds API</title>
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header class="bar"><h1>API 接口说明 · Court enforcement funds API</h1></header>
<main>
<section class="card">
<p>$description</p>
<p>The machine-readable contract (OpenAPI 3.1): <a href="/openapi.json">/openapi.json</a>.
Problem types: $problems.</p>
</section>
$operations
</main>
</body>
</html>
"""


@cache
def _document_text() -> str:
    """Built once per process: the routes are all registered before the first request."""
    return json.dumps(openapi.document(), ensure_ascii=False, separators=(",", ":"))


@route(blueprint, "/openapi.json", public=True, answer=OpenApiDocument)
def openapi_document(call: Call) -> Response:
    """The OpenAPI 3.1 document of every route, generated from the route registry."""
    return Response(
        body=_document_text(),
        status_code=200,
        headers={"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-cache"},
    )


@route(blueprint, "/api-docs", public=True, media_type="text/html")
def api_docs_page(call: Call) -> Response:
    """The OpenAPI document as a page to read: every route, who may call it, what it takes."""
    document = json.loads(_document_text())
    return Response(
        body=render(document),
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'none'"
            ),
        },
    )


def render(document: dict[str, Any]) -> str:
    operations = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations.append(_operation_html(path, method, operation))
    problems = document["components"]["schemas"]["Problem"]["properties"]["type"]["examples"]
    return (
        _PAGE.replace("$description", html.escape(document["info"]["description"]))
        .replace("$problems", ", ".join(f"<code>{html.escape(p)}</code>" for p in problems))
        .replace("$operations", "\n".join(operations))
    )


def _operation_html(path: str, method: str, operation: dict[str, Any]) -> str:
    roles = operation["x-roles"]
    who = "public" if not operation["security"] else "bearer token: " + ", ".join(roles)
    rows = [
        f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>",
        f"<p>{html.escape(operation['summary'])}</p>",
    ]
    if "description" in operation:
        rows.append(f"<p>{html.escape(operation['description'])}</p>")
    rows.append(f"<p>Who: {html.escape(who)}</p>")
    if operation["parameters"]:
        items = "".join(
            f"<li><code>{html.escape(p['name'])}</code> ({p['in']}"
            f"{', required' if p['required'] else ''})</li>"
            for p in operation["parameters"]
        )
        rows.append(f"<p>Parameters:</p><ul>{items}</ul>")
    body = operation.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        rows.append(f"<p>Body: {html.escape(media)} {_schema_name(content['schema'])}</p>")
    answers = "".join(
        f"<li>{code}: {html.escape(answer['description'])} "
        f"({html.escape(', '.join(answer.get('content', {})))})</li>"
        for code, answer in operation["responses"].items()
    )
    rows.append(f"<p>Answers:</p><ul>{answers}</ul>")
    anchor = html.escape(operation["operationId"])
    return f'<section class="card" id="{anchor}">{"".join(rows)}</section>'


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    return f"<code>{html.escape(ref.rsplit('/', 1)[1])}</code>" if ref else ""
