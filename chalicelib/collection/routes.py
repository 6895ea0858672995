"""Collection routes: the payer's public API, the rail's webhook, the staff queues, counter
cash and the scheduled sweeper.

Public routes prove themselves another way: the payer's by unguessable payment ids and the
check digit of the account number, the webhook by its signature.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Rate, Response

from chalicelib.answers import Items
from chalicelib.approvals.answers import AskedShown
from chalicelib.bodies import Answer, Question
from chalicelib.cases.errors import CaseNotFound
from chalicelib.cases.identifiers import normalise_account_number
from chalicelib.cases.scope import check_case
from chalicelib.collection.answers import (
    CardConfirmed,
    CasePayments,
    CaseStandingShown,
    CaseToPay,
    PaymentEventReceived,
    PaymentShown,
    PaymentStarted,
)
from chalicelib.collection.errors import ClaimNotFound, EntryNotFound
from chalicelib.collection.models import (
    CardConfirmation,
    CashEntry,
    ClaimProposal,
    ClaimRequest,
    CounterCash,
    CounterCashEntry,
    DecisionQuery,
    MalformedEventRecord,
    QueueQuery,
    ReceiptQuery,
    RejectEntry,
    ReviewItem,
    StartPayment,
    SurplusDraft,
    UnidentifiedPayment,
)
from chalicelib.collection.views import (
    asked_view,
    browser_view,
    overview_view,
    payment_view,
    standing_view,
)
from chalicelib.http import Call, client_address, json_response, route
from chalicelib.identity import READERS, Principal, Role
from chalicelib.ratelimit import Bucket, client_key
from chalicelib.wiring import (
    case_service,
    claim_desk,
    collection_service,
    counter_cash_desk,
    settings,
)

blueprint = Blueprint(__name__)

# Admin runs the system and moves no money.
PROPOSERS = (Role.CLERK, Role.FINANCE)
QUEUE_READERS = (Role.CLERK, Role.FINANCE, Role.AUDITOR, Role.ADMIN)
# Confirmations are steps of approval chains: finance by default; a court's tier above an
# amount may add an approver. The chain checks the role of the step that waits.
CONFIRMERS = (Role.FINANCE, Role.APPROVER)
SWEEP_EVERY_MINUTES = 10


def _case_account_in_courts(principal: Principal, typed: str) -> None:
    """Money moves into a case only in a court the person acts in; another court's account
    answers as an unknown one. A mistyped number is left for the service to refuse."""
    try:
        digits = normalise_account_number(typed)
    except ValueError:
        return
    hidden = CaseNotFound("no case has this account number")
    principal.check_accounts([digits], act=True, hidden_as=hidden)


def _entry_in_courts(principal: Principal, entry_id: str, *, act: bool) -> CashEntry:
    entry = counter_cash_desk().entry(entry_id)
    hidden = EntryNotFound(f"there is no counter-cash entry {entry_id}")
    principal.check_court(entry.court_code, act=act, hidden_as=hidden)
    return entry


def _claim_in_courts(principal: Principal, reference: str) -> None:
    proposal = claim_desk().proposal(reference)
    hidden = ClaimNotFound(f"no claim of {reference} is proposed")
    principal.check_court(proposal.court_code, act=True, hidden_as=hidden)


# -- the payer -------------------------------------------------------------------------------


@route(
    blueprint, "/collection/cases/{account_number}", public=True, rate_limit=Bucket.LOOKUP,
    answer=CaseToPay,
)  # fmt: skip
def case_overview(call: Call, account_number: str) -> dict[str, Any]:
    """What the case owes, has been paid and has left; a mistyped number is refused."""
    return overview_view(collection_service().overview(account_number))


@route(
    blueprint, "/collection/cases/{account_number}/payments", methods=["POST"], public=True,
    body=StartPayment, rate_limit=Bucket.PAYMENT, answer={201: PaymentStarted},
)  # fmt: skip
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
    blueprint, "/collection/payments/{payment_id}/card", methods=["POST"], public=True,
    body=CardConfirmation, rate_limit=Bucket.PAYMENT, answer=CardConfirmed,
)  # fmt: skip
def confirm_card(call: Call, payment_id: str) -> dict[str, Any]:
    step = collection_service().confirm_card(payment_id, call.body.card_token)
    return {"payment": payment_view(step.payment), "client_secret": step.client_secret}


@route(blueprint, "/collection/payments/{payment_id}", public=True, answer=PaymentShown)
def payment_status(call: Call, payment_id: str) -> dict[str, Any]:
    """The payment as it really stands: asked of the rail while it is in flight."""
    return payment_view(collection_service().refresh(payment_id))


@route(
    blueprint, "/collection/payments/{payment_id}/receipt.pdf", public=True, query=ReceiptQuery,
    media_type="application/pdf",
)  # fmt: skip
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


@route(
    blueprint, "/webhooks/stripe", methods=["POST"], public=True, raw_body=True,
    answer=PaymentEventReceived,
)  # fmt: skip
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


@route(
    blueprint, "/collection/unidentified", roles=QUEUE_READERS, query=QueueQuery,
    answer=Items[UnidentifiedPayment],
)  # fmt: skip
def unidentified_queue(call: Call) -> dict[str, Any]:
    """不明款 waiting to be claimed (or, with ``status=claimed``, what was claimed)."""
    items = collection_service().unidentified_queue(call.query.status, limit=call.query.limit)
    return {"items": items}


@route(
    blueprint, "/collection/unidentified/{reference}/claim", methods=["POST"], roles=PROPOSERS,
    body=ClaimRequest, status=201, answer=ClaimProposal,
)  # fmt: skip
def propose_claim(call: Call, reference: str) -> dict[str, Any]:
    """认领, first person: the case the money belongs to and why. Nothing moves until another
    person (finance) confirms it."""
    body: ClaimRequest = call.body
    _case_account_in_courts(call.actor, body.account_number)
    proposal = claim_desk().propose(
        reference, account_number=body.account_number, reason=body.reason, by=call.actor
    )
    return proposal.model_dump(mode="json")


@route(
    blueprint, "/collection/claims", roles=QUEUE_READERS, query=DecisionQuery,
    answer=Items[ClaimProposal],
)  # fmt: skip
def claim_proposals(call: Call) -> dict[str, Any]:
    """Claims waiting for confirmation (or, with ``status``, decided ones), of the courts the
    caller sees."""
    found = claim_desk().proposals(call.query.status, limit=call.query.limit)
    return {"items": [p for p in found if call.actor.sees(p.court_code)]}


@route(
    blueprint, "/collection/unidentified/{reference}/claim/confirm", methods=["POST"],
    roles=CONFIRMERS, answer={200: UnidentifiedPayment, 202: ClaimProposal},
)  # fmt: skip
def confirm_claim(call: Call, reference: str) -> Response:
    """认领, second person: the money moves to the case through the ledger's claim. Where the
    court's chain has another step above the amount, 202 with the proposal still waiting."""
    _claim_in_courts(call.actor, reference)
    done = claim_desk().confirm(reference, by=call.actor)
    return json_response(done, status=202 if isinstance(done, ClaimProposal) else 200)


@route(
    blueprint, "/collection/unidentified/{reference}/claim/reject", methods=["POST"],
    roles=[Role.FINANCE], body=RejectEntry, answer=ClaimProposal,
)  # fmt: skip
def reject_claim(call: Call, reference: str) -> dict[str, Any]:
    _claim_in_courts(call.actor, reference)
    decided = claim_desk().reject(reference, by=call.actor, reason=call.body.reason)
    return decided.model_dump(mode="json")


@route(
    blueprint, "/collection/unidentified/{reference}/claim/return", methods=["POST"],
    roles=CONFIRMERS, body=Question, answer=AskedShown,
)  # fmt: skip
def return_claim(call: Call, reference: str) -> dict[str, Any]:
    """The claim's step goes back to its proposer with a question; it waits for the answer."""
    _claim_in_courts(call.actor, reference)
    chain = claim_desk().return_for_information(
        reference, by=call.actor, question=call.body.question
    )
    return asked_view(chain)


@route(
    blueprint, "/collection/unidentified/{reference}/claim/answer", methods=["POST"],
    roles=PROPOSERS, body=Answer, answer=AskedShown,
)  # fmt: skip
def answer_claim(call: Call, reference: str) -> dict[str, Any]:
    """The proposer answers; the same step waits again."""
    _claim_in_courts(call.actor, reference)
    return asked_view(claim_desk().answer(reference, by=call.actor, answer=call.body.answer))


@route(
    blueprint, "/collection/counter-cash", methods=["POST"], roles=[Role.CLERK],
    body=CounterCashEntry, answer={201: CashEntry},
)  # fmt: skip
def enter_counter_cash(call: Call) -> Response:
    """现场交款补录, first person: the cash taken at the counter, with its paper receipt.
    Nothing moves until another person (finance) confirms it; the same entry sent again gets
    the first answer."""
    body: CounterCashEntry = call.body
    _case_account_in_courts(call.actor, body.account_id)
    entry = counter_cash_desk().enter(
        id=body.id,
        account_number=body.account_id,
        amount=body.amount,
        receipt_no=body.receipt_no,
        received_at=body.received_at,
        by=call.actor,
    )
    return json_response(
        entry, status=201, headers={"Location": f"/collection/counter-cash/{entry.id}"}
    )


@route(
    blueprint, "/collection/counter-cash", roles=QUEUE_READERS, query=DecisionQuery,
    answer=Items[CashEntry],
)  # fmt: skip
def counter_cash_entries(call: Call) -> dict[str, Any]:
    """Entries waiting for confirmation (or, with ``status``, decided ones), of the courts the
    caller sees."""
    found = counter_cash_desk().entries(call.query.status, limit=call.query.limit)
    return {"items": [e for e in found if call.actor.sees(e.court_code)]}


@route(blueprint, "/collection/counter-cash/{entry_id}", roles=QUEUE_READERS, answer=CashEntry)
def counter_cash_entry(call: Call, entry_id: str) -> Any:
    return _entry_in_courts(call.actor, entry_id, act=False)


@route(
    blueprint, "/collection/counter-cash/{entry_id}/confirm", methods=["POST"], roles=CONFIRMERS,
    answer={201: CounterCash, 202: CashEntry},
)  # fmt: skip
def confirm_counter_cash(call: Call, entry_id: str) -> Response:
    """现场交款补录, second person: the cash posts to the case account and counts, once. Where
    the court's chain has another step above the amount, 202 with the entry still waiting."""
    _entry_in_courts(call.actor, entry_id, act=True)
    counted = counter_cash_desk().confirm(entry_id, by=call.actor)
    if isinstance(counted, CashEntry):
        return json_response(counted, status=202)
    return json_response(
        counted, status=201, headers={"Location": f"/ledger/transfers/{counted.transfer_id}"}
    )


@route(
    blueprint, "/collection/counter-cash/{entry_id}/reject", methods=["POST"], roles=[Role.FINANCE],
    body=RejectEntry, answer=CashEntry,
)  # fmt: skip
def reject_counter_cash(call: Call, entry_id: str) -> Any:
    _entry_in_courts(call.actor, entry_id, act=True)
    return counter_cash_desk().reject(entry_id, by=call.actor, reason=call.body.reason)


@route(
    blueprint, "/collection/reviews", roles=QUEUE_READERS, query=QueueQuery,
    answer=Items[ReviewItem],
)  # fmt: skip
def review_queue(call: Call) -> dict[str, Any]:
    """Payments that could not be posted as they came (another currency)."""
    return {"items": collection_service().review_queue(limit=call.query.limit)}


@route(
    blueprint, "/collection/reviews/events", roles=QUEUE_READERS, query=QueueQuery,
    answer=Items[MalformedEventRecord],
)  # fmt: skip
def malformed_events(call: Call) -> dict[str, Any]:
    """Signed rail events of a shape collection does not act on, newest first: nothing was
    posted for them; finance looks at the rail for what really happened."""
    items = collection_service().malformed_events(limit=call.query.limit)
    return {"items": [i.model_dump(mode="json") for i in items]}


@route(
    blueprint, "/collection/surplus-drafts", roles=READERS, query=QueueQuery,
    answer=Items[SurplusDraft],
)  # fmt: skip
def surplus_drafts(call: Call) -> dict[str, Any]:
    """Cases paid beyond what they owe: draft refunds for the refunds workflow."""
    drafts = collection_service().surplus_drafts(limit=call.query.limit)
    return {"items": [d for d in drafts if call.actor.sees_accounts([d.account_number])]}


@route(blueprint, "/cases/{case_id}/standing", roles=READERS, answer=CaseStandingShown)
def case_standing(call: Call, case_id: str) -> dict[str, Any]:
    """What the case owes, has been paid (online, claimed, at the counter), has left and was
    overpaid: the figures the public page no longer shows."""
    check_case(call.actor, case_service().get(case_id))
    return standing_view(collection_service().standing_of_case(case_id))


@route(blueprint, "/cases/{case_id}/payments", roles=READERS, answer=CasePayments)
def case_payments(call: Call, case_id: str) -> dict[str, Any]:
    """Every online payment attempt of a case, newest first."""
    check_case(call.actor, case_service().get(case_id))
    return {"payments": [payment_view(p) for p in collection_service().payments_of_case(case_id)]}


@route(
    blueprint, "/collection/counter-cash/{entry_id}/return", methods=["POST"], roles=CONFIRMERS,
    body=Question, answer=AskedShown,
)  # fmt: skip
def return_counter_cash(call: Call, entry_id: str) -> dict[str, Any]:
    """The entry's step goes back to the clerk who entered it with a question."""
    _entry_in_courts(call.actor, entry_id, act=True)
    desk = counter_cash_desk()
    return asked_view(
        desk.return_for_information(entry_id, by=call.actor, question=call.body.question)
    )


@route(
    blueprint, "/collection/counter-cash/{entry_id}/answer", methods=["POST"],
    roles=[Role.CLERK], body=Answer, answer=AskedShown,
)  # fmt: skip
def answer_counter_cash(call: Call, entry_id: str) -> dict[str, Any]:
    """The clerk who entered the cash answers; the same step waits again."""
    _entry_in_courts(call.actor, entry_id, act=True)
    return asked_view(counter_cash_desk().answer(entry_id, by=call.actor, answer=call.body.answer))
