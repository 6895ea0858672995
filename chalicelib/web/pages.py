"""Routes that serve the payer's pages and their static files.

The pages are static shells that call the public collection API; the server fills in only the
account number or payment id from the path and the rail's browser settings, HTML-escaped. A
Content-Security-Policy allows scripts from this site and the rail's browser library only.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from string import Template

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.collection.rail import BrowserSetup
from chalicelib.http import Call, route
from chalicelib.problems import NotFound

blueprint = Blueprint(__name__)

ASSETS = Path(__file__).resolve().parent / "assets"
STATIC_TYPES = {
    "app.css": "text/css; charset=utf-8",
    "claim.js": "text/javascript; charset=utf-8",
    "claim_face.js": "text/javascript; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "pay.js": "text/javascript; charset=utf-8",
    "receipt.js": "text/javascript; charset=utf-8",
    "start.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
HTML_TYPE = "text/html; charset=utf-8"


@lru_cache(maxsize=16)
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _policy(setup: BrowserSetup | None) -> str:
    scripts = " ".join(setup.script_origins) if setup else ""
    connect = " ".join(setup.connect_origins) if setup else ""
    frames = " ".join(setup.frame_origins) if setup else "'none'"
    return (
        f"default-src 'self'; script-src 'self' {scripts}; connect-src 'self' {connect}; "
        f"frame-src {frames}; img-src 'self' data:; style-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _page(name: str, values: dict[str, str], setup: BrowserSetup | None = None) -> Response:
    text = Template(_asset(name)).substitute({k: html.escape(v) for k, v in values.items()})
    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": HTML_TYPE,
            "Content-Security-Policy": _policy(setup),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",  # payment ids in the path stay on this site
            "X-Content-Type-Options": "nosniff",
        },
    )


@route(blueprint, "/pay", public=True, media_type="text/html")
def start_page(call: Call) -> Response:
    """Type the case account number from the enforcement notice."""
    return _page("start.html", {})


@route(blueprint, "/claim", public=True, media_type="text/html")
def claim_page(call: Call) -> Response:
    """The creditor's claim link (案款领取): the claim code travels in the URL fragment, never
    in the path or query, so it reaches no server log and no Referer."""
    return _page("claim.html", {})


@route(blueprint, "/pay/{account_number}", public=True, media_type="text/html")
def pay_page(call: Call, account_number: str) -> Response:
    """The case's pay link: what is owed, paid and left, and the payment form."""
    setup = wiring.collection_service().browser_setup()
    values = {
        "account_number": account_number,
        "publishable_key": setup.publishable_key,
        "stripe_js": setup.script_url,
        "wallets": ",".join(setup.wallets),
    }
    return _page("pay.html", values, setup)


@route(blueprint, "/receipts/{payment_id}", public=True, media_type="text/html")
def receipt_page(call: Call, payment_id: str) -> Response:
    """The payment's status as it really is, and its receipt once paid."""
    return _page("receipt.html", {"payment_id": payment_id})


@route(blueprint, "/favicon.ico", public=True, media_type="image/svg+xml")
def favicon(call: Call) -> Response:
    """Browsers ask for it on every page even when the page names its icon."""
    return _static("icon.svg")


@route(blueprint, "/static/{name}", public=True, media_type="*/*")
def static_file(call: Call, name: str) -> Response:
    return _static(name)


def _static(name: str) -> Response:
    content_type = STATIC_TYPES.get(name)
    if content_type is None:
        raise NotFound(f"there is no file {name!r}")
    return Response(
        body=_asset(name),
        status_code=200,
        headers={
            "Content-Type": content_type,
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
        },
    )
