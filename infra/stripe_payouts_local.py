"""Treasury OutboundPayments for the local Stripe stand-in: exactly what the payout rail uses.

localstripe has no way to pay money out. This adds, on its server and its webhook delivery:

- ``POST /v1/treasury/outbound_payments`` (the same ``Idempotency-Key`` answers the same
  payment), ``GET /v1/treasury/outbound_payments/{id}`` and the list by financial account and
  creation time;
- Stripe's test helpers ``POST /v1/test_helpers/treasury/outbound_payments/{id}/post``,
  ``/fail`` and ``/return``;
- a signed ``treasury.outbound_payment.{created,posted,failed,returned}`` event per change,
  through localstripe's own webhook sender (so the app's registered endpoint gets them).

The local stack sets ``STRIPE_LOCAL_PAYOUT_WEBHOOK`` (the app's payout endpoint, registered
here with the stack's webhook secret from ``SECRETS_DIR``, for the payout events only) and
``STRIPE_LOCAL_PAYOUT_AUTO_POST`` (seconds): a payment then posts by itself after that delay, so
a demo payout completes; an account number ending in ``0002`` fails instead and one ending in
``0003`` posts and is then returned, to show those paths. Tests leave both unset and drive
every change through the test helpers. Everything is held in memory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from localstripe.server import get_post_data, unflatten_data
from localstripe.webhooks import register_webhook, schedule_webhook

PAYOUT_EVENTS = tuple(
    f"treasury.outbound_payment.{change}" for change in ("created", "posted", "failed", "returned")
)
_payments: dict[str, dict[str, Any]] = {}
_by_key: dict[str, str] = {}
_settings: dict[str, float] = {"auto_post_seconds": 0.0}


class _Event:
    """The shape localstripe's webhook sender signs and posts."""

    def __init__(self, event_type: str, payment: dict[str, Any]) -> None:
        self.created = int(time.time())
        self.type = event_type
        self.id = "evt_" + secrets.token_hex(12)
        self._object = dict(payment)

    def _export(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "event",
            "type": self.type,
            "created": self.created,
            "livemode": False,
            "data": {"object": self._object},
        }


def _error(status: int, message: str) -> web.Response:
    body = {"error": {"type": "invalid_request_error", "message": message}}
    return web.json_response(body, status=status)


def _change(payment: dict[str, Any], status: str, **details: Any) -> None:
    payment["status"] = status
    payment["status_transitions"][f"{status}_at"] = int(time.time())
    payment.update(details)
    schedule_webhook(_Event(f"treasury.outbound_payment.{status}", payment))


async def create(request: web.Request) -> web.Response:
    data = await get_post_data(request) or {}
    key = request.headers.get("Idempotency-Key")
    if key and key in _by_key:
        return web.json_response(_payments[_by_key[key]])
    try:
        amount = int(data["amount"])
        currency = str(data["currency"]).lower()
        account = str(data["financial_account"])
        destination = data["destination_payment_method_data"]["us_bank_account"]
        account_number = str(destination["account_number"])
    except (KeyError, TypeError, ValueError):
        return _error(400, "amount, currency, financial_account and a destination are required")
    if amount <= 0:
        return _error(400, "amount must be positive")
    payment = {
        "id": "obp_" + secrets.token_hex(12),
        "object": "treasury.outbound_payment",
        "amount": amount,
        "currency": currency,
        "financial_account": account,
        "description": data.get("description"),
        "metadata": data.get("metadata") or {},
        "destination_payment_method_details": {
            "type": "us_bank_account",
            "us_bank_account": {"last4": account_number[-4:]},
        },
        "status": "processing",
        "cancelable": False,
        "created": int(time.time()),
        "livemode": False,
        "returned_details": None,
        "status_transitions": {},
    }
    _payments[payment["id"]] = payment
    if key:
        _by_key[key] = payment["id"]
    schedule_webhook(_Event("treasury.outbound_payment.created", payment))
    delay = _settings["auto_post_seconds"]
    if delay > 0:
        asyncio.get_running_loop().call_later(delay, _advance, payment["id"], account_number)
    return web.json_response(payment)


def _advance(payment_id: str, account_number: str) -> None:
    payment = _payments[payment_id]
    if payment["status"] != "processing":
        return
    if account_number.endswith("0002"):
        _change(payment, "failed", failure_reason="account_closed")
        return
    _change(payment, "posted")
    if account_number.endswith("0003"):
        _change(payment, "returned", returned_details={"code": "account_closed"})


async def retrieve(request: web.Request) -> web.Response:
    payment = _payments.get(request.match_info["id"])
    if payment is None:
        return _error(404, "No such outbound_payment")
    return web.json_response(payment)


async def list_payments(request: web.Request) -> web.Response:
    query = unflatten_data(request.query)
    account = query.get("financial_account")
    if not account:
        return _error(400, "financial_account is required")
    since = int((query.get("created") or {}).get("gte", 0))
    found = [
        p
        for p in sorted(_payments.values(), key=lambda p: p["created"], reverse=True)
        if p["financial_account"] == account and p["created"] >= since
    ]
    limit = int(query.get("limit", 10))
    return web.json_response(
        {
            "object": "list",
            "url": "/v1/treasury/outbound_payments",
            "has_more": len(found) > limit,
            "data": found[:limit],
        }
    )


def _helper(target: str, allowed_from: tuple[str, ...]) -> Any:
    async def handle(request: web.Request) -> web.Response:
        payment = _payments.get(request.match_info["id"])
        if payment is None:
            return _error(404, "No such outbound_payment")
        if payment["status"] not in allowed_from:
            return _error(400, f"the outbound payment is {payment['status']}")
        data = await get_post_data(request) or {}
        details: dict[str, Any] = {}
        if target == "failed":
            details["failure_reason"] = data.get("failure_reason", "account_closed")
        if target == "returned":
            details["returned_details"] = {"code": data.get("code", "account_closed")}
        _change(payment, target, **details)
        return web.json_response(payment)

    return handle


def install(app: web.Application) -> None:
    """Add the OutboundPayment routes to localstripe's server before it starts, and register the
    app's payout endpoint when the local stack names one."""
    _settings["auto_post_seconds"] = float(os.environ.get("STRIPE_LOCAL_PAYOUT_AUTO_POST", "0"))
    target = os.environ.get("STRIPE_LOCAL_PAYOUT_WEBHOOK")
    if target:
        secret = Path(os.environ["SECRETS_DIR"], "stripe-webhook-secret").read_text().strip()
        register_webhook("court-funds-payouts", target, secret, list(PAYOUT_EVENTS))
    base = "/v1/treasury/outbound_payments"
    helpers = "/v1/test_helpers/treasury/outbound_payments/{id}"
    app.router.add_post(base, create)
    app.router.add_get(base, list_payments)
    app.router.add_get(base + "/{id}", retrieve)
    app.router.add_post(helpers + "/post", _helper("posted", ("processing",)))
    app.router.add_post(helpers + "/fail", _helper("failed", ("processing",)))
    # Stripe's helper returns only a processing payment; a real bank also returns one it had
    # already posted, which the stand-in allows so that path can be shown.
    app.router.add_post(helpers + "/return", _helper("returned", ("processing", "posted")))
