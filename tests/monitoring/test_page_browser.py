"""The monitoring page in headless Chromium, on a 375-pixel phone and on a desktop: nothing
overflows the screen, the charts are drawn, and the screenshots are kept for a person to look at
(``MONITORING_SCREENSHOTS`` names a folder; otherwise the test's own)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.collection.test_pay_page_browser import CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

# a leader of the intermediate court 粤06, who sees both basic courts monitored here
LEADER: dict[str, Any] = {"subject": "leader-06", "courts": ("粤06",), "oversees": ("粤06",)}


@pytest.fixture
def served(courts: Any, api: Any, token: Any) -> Iterator[str]:
    """The page as the app rendered it for a court leader, served with its style sheet on a
    free loopback port (the browser cannot send the leader's bearer token by itself)."""
    page = api.get("/monitoring", headers=token("approver", **LEADER))
    css = api.get("/oversight.css")
    files = {
        "/": (page.body, page.headers["Content-Type"], page.headers["Content-Security-Policy"]),
        "/oversight.css": (css.body, css.headers["Content-Type"], None),
        "/favicon.ico": (b"", "image/x-icon", None),  # browsers ask; the app has none
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind, policy = files.get(self.path, (b"", "text/plain", None))
            self.send_response(200 if self.path in files else 404)
            self.send_header("Content-Type", kind)
            if policy:
                self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            self.wfile.write(body if isinstance(body, bytes) else body.encode())

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_page_fits_a_phone_and_a_desktop(served: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("MONITORING_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, size, mobile in (
                ("phone", {"width": 375, "height": 812}, True),
                ("desktop", {"width": 1280, "height": 900}, False),
            ):
                page = browser.new_page(viewport=size, is_mobile=mobile)
                errors: list[str] = []
                page.on(
                    "console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None
                )
                page.goto(served)
                assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
                charts = page.locator("figure svg")
                assert charts.count() == 2
                for n in range(2):
                    box = charts.nth(n).bounding_box()
                    assert box is not None
                    assert 0 < box["width"] <= size["width"]
                assert page.locator("svg rect.bar").count() == 4  # two courts, two charts
                # The style sheet applied (the CSP allows this site's styles only).
                weight = page.evaluate(
                    "getComputedStyle(document.querySelector('figcaption')).fontWeight"
                )
                assert weight == "600"
                assert errors == []
                page.screenshot(path=str(folder / f"monitoring-{name}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
