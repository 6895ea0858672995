"""The payer's pages as served: HTML with a strict Content-Security-Policy, the path escaped,
and only the known static files."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.collection import CollectionService


def test_pay_page_loads_stripe_js_from_the_rail_and_allows_nothing_else(
    api: Any, collection: CollectionService, localstripe: str
) -> None:
    answer = api.get("/pay/4406042600000016")

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    page = answer.body.decode()
    assert f'<script src="{localstripe}/js.stripe.com/v3/"></script>' in page
    assert 'data-key="pk_test_collection"' in page
    policy = answer.headers["Content-Security-Policy"]
    assert f"script-src 'self' {localstripe};" in policy
    assert f"connect-src 'self' {localstripe};" in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_path_values_are_escaped_into_the_page(api: Any, collection: CollectionService) -> None:
    answer = api.get('/receipts/x"><img src=x onerror=alert(1)>')

    page = answer.body.decode()
    assert "<img" not in page
    assert 'data-payment="x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in page


def test_start_and_receipt_pages_need_no_rail(api: Any, aws: Any) -> None:
    for path in ("/pay", "/receipts/pay_123"):
        answer = api.get(path)
        assert answer.status_code == 200
        assert "script-src 'self' ;" in answer.headers["Content-Security-Policy"]


def test_only_known_static_files_are_served(api: Any, aws: Any) -> None:
    script = api.get("/static/pay.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    missing = api.get("/static/secrets.txt")
    assert missing.status_code == 404
    assert json.loads(missing.body)["type"].endswith("not-found")
