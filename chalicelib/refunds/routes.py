"""Refund routes: staff take every step; the payer's receipt reads the refunds of a payment.

Approval steps are taken here (``/refunds/{id}/decision``, ``/answer``), not under
``/approvals``, because the refund's state changes in the same transaction as the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Rate

from chalicelib.answers import Items
from chalicelib.approvals.views import approval_view
from chalicelib.cases.scope import check_case
from chalicelib.http import Call, route
from chalicelib.idempotency import HEADER
from chalicelib.identity import READERS, CourtNotYours, Principal, Role
from chalicelib.refunds.answers import (
    RefundEventReceived,
    RefundHistory,
    RefundShown,
    RefundShownToPayer,
)
from chalicelib.refunds.errors import RefundNotFound, SourceNotFound
from chalicelib.refunds.models import (
    AnswerReturn,
    BankFailure,
    BankPayment,
    CancelRefund,
    DecideRefund,
    QueueQuery,
    Refund,
    RefundSource,
    RefundState,
    RequestRefund,
    SourceKind,
)
from chalicelib.refunds.views import history_view, public_view, refund_view
from chalicelib.wiring import approval_service, case_service, refund_drafts, refund_service

blueprint = Blueprint(__name__)

SWEEP_EVERY_MINUTES = 5
DRAFT_EVERY_HOURS = 1
ASKERS = (Role.CLERK, Role.ADMIN)
DECIDERS = (Role.APPROVER, Role.FINANCE)
SHOWN_TO_PAYER = frozenset(
    {RefundState.APPROVED, RefundState.PROCESSING, RefundState.PAID, RefundState.FAILED}
)


def _in_courts(principal: Principal, refund_id: str, *, act: bool) -> Refund:
    """The refund, if its court is one the person sees (acts in, with ``act``); another
    court's refund answers as a missing one."""
    found = refund_service().get(refund_id)
    hidden = RefundNotFound(f"no refund {refund_id}")
    principal.check_court(found.source.court, act=act, hidden_as=hidden)
    return found


def _source_check(principal: Principal) -> Callable[[RefundSource], None]:
    def check(source: RefundSource) -> None:
        if source.kind == SourceKind.UNIDENTIFIED:
            # unidentified money has no court yet: the request names the court deciding it
            if not principal.acts_in(source.court):
                raise CourtNotYours(f"you do not act in court {source.court}")
            return
        missing = {
            SourceKind.ONLINE: f"no payment {source.reference}",
            SourceKind.COUNTER_CASH: f"no counter cash entered under {source.reference}",
        }
        hidden = SourceNotFound(missing[source.kind])
        principal.check_court(source.court, act=True, hidden_as=hidden)

    return check


@route(
    blueprint,
    "/refunds",
    methods=["POST"],
    roles=ASKERS,
    body=RequestRefund,
    status=201,
    answer=RefundShown,
)
def request_refund(call: Call) -> Any:
    """A refund request, kept as a draft: the payment, the amount, the reason code, a note.
    With an ``Idempotency-Key`` header, sending the same request again gives the same refund."""
    refund = refund_service().request(
        call.body,
        by=call.actor,
        check=_source_check(call.actor),
        idempotency_key=call.header(HEADER),
    )
    return refund_view(refund)


@route(
    blueprint,
    "/refunds/drafts/concluded/{case_id}",
    methods=["POST"],
    roles=ASKERS,
    answer=Items[RefundShown],
)
def draft_for_concluded_case(call: Call, case_id: str) -> Any:
    """Drafts returning the money a concluded case still holds, newest payment first."""
    check_case(call.actor, case_service().get(case_id), act=True)
    return {"items": [refund_view(r) for r in refund_drafts().for_concluded_case(case_id)]}


@route(blueprint, "/refunds", roles=READERS, query=QueueQuery, answer=Items[RefundShown])
def refund_queue(call: Call) -> Any:
    """The refunds of a court in one state, oldest change first."""
    query: QueueQuery = call.query
    if not call.actor.sees(query.court):
        raise CourtNotYours(f"you neither belong to nor oversee court {query.court}")
    found = refund_service().queue(query.court, query.state, limit=query.limit)
    return {"items": [refund_view(r) for r in found]}


@route(blueprint, "/refunds/{refund_id}", roles=READERS, answer=RefundShown)
def refund(call: Call, refund_id: str) -> Any:
    return refund_view(_in_courts(call.actor, refund_id, act=False))


@route(blueprint, "/refunds/{refund_id}/history", roles=READERS, answer=RefundHistory)
def refund_history(call: Call, refund_id: str) -> Any:
    """Every change of the refund and every step of its approval chain."""
    service = refund_service()
    found = _in_courts(call.actor, refund_id, act=False)
    approval = service.approval(refund_id)
    return {
        "refund": refund_view(found),
        "history": history_view(found),
        "approval": None if approval is None else approval_view(approval, approval_service()),
    }


@route(blueprint, "/refunds/{refund_id}/submit", methods=["POST"], roles=ASKERS, answer=RefundShown)
def submit(call: Call, refund_id: str) -> Any:
    _in_courts(call.actor, refund_id, act=True)
    return refund_view(refund_service().submit(refund_id, by=call.actor))


@route(
    blueprint,
    "/refunds/{refund_id}/decision",
    methods=["POST"],
    roles=DECIDERS,
    body=DecideRefund,
    answer=RefundShown,
)
def decide(call: Call, refund_id: str) -> Any:
    """Approve, reject (with a reason) or return (with a question) the step waiting."""
    body: DecideRefund = call.body
    _in_courts(call.actor, refund_id, act=True)
    return refund_view(
        refund_service().decide(refund_id, body.decision, by=call.actor, text=body.text)
    )


@route(
    blueprint,
    "/refunds/{refund_id}/answer",
    methods=["POST"],
    roles=ASKERS,
    body=AnswerReturn,
    answer=RefundShown,
)
def answer(call: Call, refund_id: str) -> Any:
    _in_courts(call.actor, refund_id, act=True)
    return refund_view(refund_service().answer(refund_id, by=call.actor, answer=call.body.answer))


@route(
    blueprint,
    "/refunds/{refund_id}/cancel",
    methods=["POST"],
    roles=(Role.CLERK, Role.FINANCE, Role.ADMIN),
    body=CancelRefund,
    answer=RefundShown,
)
def cancel(call: Call, refund_id: str) -> Any:
    _in_courts(call.actor, refund_id, act=True)
    return refund_view(refund_service().cancel(refund_id, by=call.actor, reason=call.body.reason))


@route(
    blueprint,
    "/refunds/{refund_id}/reissue",
    methods=["POST"],
    roles=(Role.FINANCE,),
    answer=RefundShown,
)
def reissue(call: Call, refund_id: str) -> Any:
    """A failed refund tried again as a new attempt."""
    _in_courts(call.actor, refund_id, act=True)
    return refund_view(refund_service().reissue(refund_id, by=call.actor))


@route(
    blueprint,
    "/refunds/{refund_id}/bank-payment",
    methods=["POST"],
    roles=(Role.FINANCE,),
    body=BankPayment,
    answer=RefundShown,
)
def record_bank_payment(call: Call, refund_id: str) -> Any:
    """Counter cash paid back by bank transfer: finance records the bank's reference."""
    service = refund_service()
    return refund_view(
        service.payback.record_bank_payment(
            _in_courts(call.actor, refund_id, act=True),
            bank_reference=call.body.bank_reference,
            by=call.actor,
        )
    )


@route(
    blueprint,
    "/refunds/{refund_id}/bank-payment/confirm",
    methods=["POST"],
    roles=(Role.FINANCE,),
    answer=RefundShown,
)
def confirm_bank_payment(call: Call, refund_id: str) -> Any:
    """A second member of finance confirms the bank transfer; the refund is paid."""
    service = refund_service()
    return refund_view(
        service.payback.confirm_bank_payment(
            _in_courts(call.actor, refund_id, act=True), by=call.actor
        )
    )


@route(
    blueprint,
    "/refunds/{refund_id}/bank-payment/failed",
    methods=["POST"],
    roles=(Role.FINANCE,),
    body=BankFailure,
    answer=RefundShown,
)
def bank_payment_failed(call: Call, refund_id: str) -> Any:
    service = refund_service()
    return refund_view(
        service.payback.bank_payment_failed(
            _in_courts(call.actor, refund_id, act=True), by=call.actor, reason=call.body.reason
        )
    )


@route(blueprint, "/refunds/of-payment/{payment_id}", public=True, answer=Items[RefundShownToPayer])
def refunds_of_payment(call: Call, payment_id: str) -> Any:
    """For the payer's receipt: the refunds of this payment once approved, with their status.
    The payment id is the receipt's own unguessable reference."""
    found = refund_service().of_payment(payment_id)
    return {"items": [public_view(r) for r in found if r.state in SHOWN_TO_PAYER]}


@route(
    blueprint,
    "/webhooks/stripe/refunds",
    methods=["POST"],
    public=True,
    raw_body=True,
    answer=RefundEventReceived,
)
def stripe_refund_webhook(call: Call) -> Any:
    """Stripe's refund events (a webhook endpoint of its own, signed like the payment one)."""
    return refund_service().payback.ingest_webhook(call.raw_body, dict(call.request.headers))


@blueprint.schedule(Rate(SWEEP_EVERY_MINUTES, unit=Rate.MINUTES))
def sweep_refunds(event: Any) -> dict[str, int]:
    """Finish refunds a crash or a silent rail left half-way."""
    return refund_service().payback.sweep()


@blueprint.schedule(Rate(DRAFT_EVERY_HOURS, unit=Rate.HOURS))
def draft_refunds(event: Any) -> dict[str, int]:
    """Draft refunds of flagged surpluses and of unidentified funds nobody claimed in time."""
    return refund_drafts().sweep()
