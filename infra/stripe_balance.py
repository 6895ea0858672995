"""Balance transactions for the local Stripe stand-in, as reconciliation reads them.

localstripe books a balance transaction for each charge and refund, but lists them without
Stripe's ``created`` filter or ``expand[]=data.source``, and never takes a processing fee.
This middleware answers ``GET /v1/balance_transactions`` as Stripe does for those parameters,
and ``POST /_local/balance_transactions/{id}/fee`` (``fee=<fen>``) lets a test or the local
stack book the fee Stripe would have taken.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from localstripe.resources import store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LIST_PATH = "/v1/balance_transactions"
FEE_PREFIX = "/_local/balance_transactions/"


def _exported(transaction: Any, *, expand_source: bool) -> dict[str, Any]:
    fee = int(getattr(transaction, "fee", 0) or 0)
    source: Any = transaction.source
    if expand_source:
        kind = "charge" if source.startswith("ch_") else "refund"
        found = store.get(f"{kind}:{source}")
        if found is not None:
            source = {
                "id": found.id,
                "object": kind,
                "payment_intent": getattr(found, "payment_intent", None),
            }
    details = [{"type": "stripe_fee", "amount": fee, "currency": transaction.currency}]
    return {
        "id": transaction.id,
        "object": "balance_transaction",
        "amount": transaction.amount,
        "currency": transaction.currency,
        "created": transaction.created,
        "fee": fee,
        "fee_details": details if fee else [],
        "net": transaction.amount - fee,
        "source": source,
        "status": "available",
        "type": transaction.type,
    }


def _listing(request: web.Request) -> web.Response:
    query = request.query
    gte = int(query.get("created[gte]", "0"))
    lt = int(query.get("created[lt]", str(2**62)))
    limit = min(int(query.get("limit", "10")), 100)
    after = query.get("starting_after")
    # The SDK sends expand[0]=data.source; curl users write expand[]=data.source.
    expand = any(k.startswith("expand[") and v == "data.source" for k, v in query.items())
    found = sorted(
        (
            value
            for key, value in store.items()
            if key.startswith("balance_transaction:") and gte <= value.created < lt
        ),
        key=lambda t: (-t.created, t.id),  # newest first, as Stripe lists
    )
    if after:
        ids = [t.id for t in found]
        found = found[ids.index(after) + 1 :] if after in ids else []
    page = found[:limit]
    body = {
        "object": "list",
        "url": LIST_PATH,
        "has_more": len(found) > limit,
        "data": [_exported(t, expand_source=expand) for t in page],
    }
    return web.json_response(body)


async def _book_fee(request: web.Request) -> web.Response:
    transaction_id = request.path.removeprefix(FEE_PREFIX).removesuffix("/fee")
    transaction = store.get(f"balance_transaction:{transaction_id}")
    if transaction is None:
        return web.json_response({"error": {"message": "no such transaction"}}, status=404)
    form = await request.post()
    transaction.fee = int(str(form["fee"]))
    store[f"balance_transaction:{transaction_id}"] = transaction  # persisted like the rest
    return web.json_response(json.loads(json.dumps(_exported(transaction, expand_source=False))))


@web.middleware
async def balance_transactions(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "GET" and request.path == LIST_PATH:
        return _listing(request)
    if request.method == "POST" and request.path.startswith(FEE_PREFIX):
        return await _book_fee(request)
    return await handler(request)


def register(app: web.Application) -> None:
    """Serve balance transactions from ``app`` (call before the server starts)."""
    app.middlewares.append(balance_transactions)
