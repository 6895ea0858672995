"""The API's front door: a landing page at ``/`` and a health check at ``/health``.

A newcomer who opens the root URL finds the pay page and the list of routes (drawn from the
route registry, so it cannot drift from the code); a load balancer or monitor asks ``/health``,
which answers without touching data.
"""

from __future__ import annotations

import html
from typing import Literal

from chalice.app import Blueprint, Response

from chalicelib.answers import AnswerBody
from chalicelib.http import ROUTES, Call, route

blueprint = Blueprint(__name__)


class Health(AnswerBody):
    status: Literal["ok"]


_LANDING = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>法院执行案款 Court enforcement funds</title>
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header class="bar"><h1>法院执行案款 · Court enforcement funds</h1></header>
<main>
<section class="card">
<p>缴纳案款请打开 <a href="/pay">案款缴纳</a>，输入执行通知书上的 16 位案款账号。</p>
<p>To pay into a case, open <a href="/pay">the pay page</a> and type the 16-digit case
account number from the enforcement notice.</p>
<p>Service status: <a href="/health">/health</a></p>
</section>
<section class="card">
<h2>API</h2>
<p>JSON over HTTPS; errors are <code>application/problem+json</code> (RFC 9457). Staff routes
need a bearer token from the court's sign-in.</p>
<table class="routes"><thead><tr><th>method</th><th>path</th><th>who</th></tr></thead>
<tbody>
$rows
</tbody></table>
</section>
</main>
</body>
</html>
"""


def _rows() -> str:
    rows = []
    for spec in sorted(ROUTES, key=lambda s: (s.path, s.method)):
        who = "public" if spec.public else ", ".join(sorted(r.value for r in spec.roles))
        rows.append(
            f"<tr><td>{spec.method}</td><td><code>{html.escape(spec.path)}</code></td>"
            f"<td>{html.escape(who)}</td></tr>"
        )
    return "\n".join(rows)


@route(blueprint, "/", public=True, media_type="text/html")
def landing_page(call: Call) -> Response:
    """Where the pay page and the API's routes are."""
    return Response(
        body=_LANDING.replace("$rows", _rows()),
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": (
                "default-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'"
            ),
        },
    )


@route(blueprint, "/health", public=True, answer=Health)
def health(call: Call) -> Health:
    """The service answers; no data is read or shown."""
    return Health(status="ok")
