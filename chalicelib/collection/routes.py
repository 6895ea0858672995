"""Collection routes: the payer's public API, the rail's webhook, the staff queues, counter
cash and the scheduled sweeper.

Public routes prove themselves another way: the payer's by unguessable payment ids and the
check digit of the account number, the webhook by its signature.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Rate, Response

from chalicelib.collection.models import (
    CardConfirmation,
    ClaimRequest,
    CounterCashEntry,
    QueueQuery,
    ReceiptQuery,
    StartPayment,
)
from chalicelib.collection.views import (
    browser_view,
    overview_view,
    payment_view,
    standing_view,
)
from chalicelib.http import Call, client_address, json_response, route
from chalicelib.identity import READERS, Role
from chalicelib.ratelimit import Bucket, client_key
from chalicelib.wiring import collection_service, settings

blueprint = Blueprint(__name__)

CLAIMERS = (Role.CLERK, Role.FINANCE, Role.ADMIN)
QUEUE_READERS = (Role.CLERK, Role.FINANCE, Role.AUDITOR, Role.ADMIN)
SWEEP_EVERY_MINUTES = 10


# -- the payer -------------------------------------------------------------------------------


@route(blueprint, "/collection/cases/{account_number}", public=True, rate_limit=Bucket.LOOKUP)
def case_overview(call: Call, account_number: str) -> dict[str, Any]:
    """What the case owes, has been paid and has left; a mistyped number is refused."""
    return overview_view(collection_service().overview(account_number))


@route(
    blueprint,
    "/collection/cases/{account_number}/payments",
    methods=["POST"],
    public=True,
    body=StartPayment,
    rate_limit=Bucket.PAYMENT,
)
def start_payment(call: Call, account_number: str) -> Response:
    step = collection_service().start_payment(
        account_number,
        call.body,
        idempotency_key=call.header("idempotency-key"),
        client=client_key(client_address(call.request)),
    )
    body = {
        "payment": payment_view(step.payment),
        "client_secret": step.client_secret,
        "browser": browser_view(step.browser) if step.browser else None,
    }
    return json_response(
        body, status=201, headers={"Location": f"/collection/payments/{step.payment.payment_id}"}
    )


@route(
    blueprint,
    "/collection/payments/{payment_id}/card",
    methods=["POST"],
    public=True,
    body=CardConfirmation,
    rate_limit=Bucket.PAYMENT,
)
def confirm_card(call: Call, payment_id: str) -> dict[str, Any]:
    step = collection_service().confirm_card(payment_id, call.body.card_token)
    return {"payment": payment_view(step.payment), "client_secret": step.client_secret}


@route(blueprint, "/collection/payments/{payment_id}", public=True)
def payment_status(call: Call, payment_id: str) -> dict[str, Any]:
    """The payment as it really stands: asked of the rail while it is in flight."""
    return payment_view(collection_service().refresh(payment_id))


@route(blueprint, "/collection/payments/{payment_id}/receipt.pdf", public=True, query=ReceiptQuery)
def receipt_pdf(call: Call, payment_id: str) -> Response:
    from chalicelib.collection.receipt_pdf import render_receipt  # reportlab: only when asked

    payment = collection_service().receipt(payment_id)
    pdf = render_receipt(payment, lang=call.query.lang, font=settings().receipt_font)
    filename = f"receipt-{payment.receipt_number}.pdf".encode("ascii", "ignore").decode()
    return Response(
        body=pdf,
        status_code=200,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",  # a receipt names the case and the amount
        },
    )


# -- the rail --------------------------------------------------------------------------------


@route(blueprint, "/webhooks/stripe", methods=["POST"], public=True, raw_body=True)
def stripe_webhook(call: Call) -> dict[str, str]:
    """Verified over the raw body; a 2xx tells Stripe to stop retrying, so errors that a retry
    could fix (the ledger busy, a timeout) answer 5xx and the event comes again."""
    return collection_service().ingest_webhook(call.raw_body, dict(call.request.headers))


@blueprint.schedule(Rate(SWEEP_EVERY_MINUTES, unit=Rate.MINUTES))
def sweep_payments(event: Any) -> dict[str, int]:
    """Post succeeded payments whose webhook never came; send notices left pending."""
    report = collection_service().sweep()
    return {
        "examined": report.examined,
        "posted": report.posted,
        "unidentified": report.unidentified,
        "review": report.review,
        "failed": report.failed,
        "notices_sent": report.notices_sent,
    }


# -- staff -----------------------------------------------------------------------------------


@route(blueprint, "/collection/unidentified", roles=QUEUE_READERS, query=QueueQuery)
def unidentified_queue(call: Call) -> dict[str, Any]:
    """不明款 waiting to be claimed (or, with ``status=claimed``, what was claimed)."""
    items = collection_service().unidentified_queue(call.query.status, limit=call.query.limit)
    return {"items": items}


@route(
    blueprint,
    "/collection/unidentified/{reference}/claim",
    methods=["POST"],
    roles=CLAIMERS,
    body=ClaimRequest,
)
def claim_unidentified(call: Call, reference: str) -> dict[str, Any]:
    """认领: the money moves to the case through the ledger's claim, with who and why."""
    body: ClaimRequest = call.body
    claimed = collection_service().claim(
        reference, account_number=body.account_number, reason=body.reason, actor=call.actor.actor
    )
    return claimed.model_dump(mode="json")


@route(
    blueprint,
    "/collection/counter-cash",
    methods=["POST"],
    roles=[Role.CLERK],
    body=CounterCashEntry,
)
def enter_counter_cash(call: Call) -> Response:
    """现场交款补录: cash taken at the counter, posted to the case account and counted toward
    the case once, however often the clerk's entry is sent."""
    body: CounterCashEntry = call.body
    entry = collection_service().enter_counter_cash(
        id=body.id,
        account_number=body.account_id,
        amount=body.amount,
        receipt_no=body.receipt_no,
        received_at=body.received_at,
        actor=call.actor.actor,
    )
    return json_response(
        entry, status=201, headers={"Location": f"/ledger/transfers/{entry.transfer_id}"}
    )


@route(blueprint, "/collection/reviews", roles=QUEUE_READERS, query=QueueQuery)
def review_queue(call: Call) -> dict[str, Any]:
    """Payments that could not be posted as they came (another currency)."""
    return {"items": collection_service().review_queue(limit=call.query.limit)}


@route(blueprint, "/collection/reviews/events", roles=QUEUE_READERS, query=QueueQuery)
def malformed_events(call: Call) -> dict[str, Any]:
    """Signed rail events of a shape collection does not act on, newest first: nothing was
    posted for them; finance looks at the rail for what really happened."""
    items = collection_service().malformed_events(limit=call.query.limit)
    return {"items": [i.model_dump(mode="json") for i in items]}


@route(blueprint, "/collection/surplus-drafts", roles=READERS, query=QueueQuery)
def surplus_drafts(call: Call) -> dict[str, Any]:
    """Cases paid beyond what they owe: draft refunds for the refunds workflow."""
    return {"items": collection_service().surplus_drafts(limit=call.query.limit)}


@route(blueprint, "/cases/{case_id}/standing", roles=READERS)
def case_standing(call: Call, case_id: str) -> dict[str, Any]:
    """What the case owes, has been paid (online, claimed, at the counter), has left and was
    overpaid: the figures the public page no longer shows."""
    return standing_view(collection_service().standing_of_case(case_id))


@route(blueprint, "/cases/{case_id}/payments", roles=READERS)
def case_payments(call: Call, case_id: str) -> dict[str, Any]:
    """Every online payment attempt of a case, newest first."""
    return {"payments": [payment_view(p) for p in collection_service().payments_of_case(case_id)]}
