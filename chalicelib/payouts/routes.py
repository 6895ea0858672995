"""Payout routes: the staff workflow, the creditor's claim, the rail's webhook and the sweeper.

Staff roles: the case officer (clerk) proposes, asks for deferrals and sends claim links;
approvers and finance take the steps of the approval chains (the approvals capability checks
which role each step needs); finance asks for staff releases (paid without the creditor's face
check) and reissues. The creditor's routes are public and
prove themselves by the claim code in the body; the webhook by its signature.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Rate, Response

from chalicelib.answers import Items
from chalicelib.bodies import Answer, Question
from chalicelib.cases.scope import check_case
from chalicelib.http import Call, json_response, route
from chalicelib.idempotency import HEADER
from chalicelib.identity import READERS, CourtNotYours, Principal, Role
from chalicelib.payouts.answers import (
    CaseDisbursements,
    ClaimShown,
    DisbursementShown,
    PayoutEventReceived,
)
from chalicelib.payouts.bodies import (
    ClaimLookup,
    Decision,
    DeferralRequest,
    FaceRelease,
    ProposeDisbursement,
    QueueQuery,
    Rejection,
    StaffRelease,
)
from chalicelib.payouts.claims import client_key
from chalicelib.payouts.errors import DisbursementNotFound
from chalicelib.payouts.models import Disbursement
from chalicelib.payouts.views import claim_view, staff_view
from chalicelib.step_routes import StepRoutes
from chalicelib.wiring import case_service, payout_sender
from chalicelib.wiring import disbursement_workflow as disbursements

blueprint = Blueprint(__name__)

PROPOSERS = (Role.CLERK,)
# The approvals capability checks that each step is taken by the role its tier names.
DECIDERS = (Role.APPROVER, Role.FINANCE)
CANCELLERS = (Role.CLERK, Role.APPROVER, Role.FINANCE, Role.ADMIN)
FINANCE = (Role.FINANCE,)
SWEEP_EVERY_MINUTES = 5


def _client(call: Call) -> str:
    identity = (call.request.context or {}).get("identity") or {}
    return client_key(identity.get("sourceIp"))


def _in_courts(principal: Principal, disbursement_id: str, *, act: bool = True) -> Disbursement:
    """Another court's disbursement answers as a missing one; a court the person only
    oversees is read, never changed."""
    found = disbursements().get(disbursement_id)
    hidden = DisbursementNotFound(f"no disbursement {disbursement_id}")
    principal.check_court(found.court_code, act=act, hidden_as=hidden)
    return found


# Every step on a disbursement: found in a court the caller acts in, shown as their role sees it.
STEP = "/disbursements/{disbursement_id}/"
steps = StepRoutes(
    blueprint,
    find=lambda call: _in_courts(call.actor, call.params["disbursement_id"]),
    show=staff_view,
    answer=DisbursementShown,
)


# -- staff -----------------------------------------------------------------------------------


@route(
    blueprint, "/cases/{case_id}/disbursements", methods=["POST"], roles=PROPOSERS,
    body=ProposeDisbursement, answer={201: DisbursementShown},
)  # fmt: skip
def propose(call: Call, case_id: str) -> Response:
    """案款发放: propose paying one creditor of the case (all, or the undisputed part). With an
    ``Idempotency-Key`` header, sending the same proposal again gives the same disbursement."""
    check_case(call.actor, case_service().get(case_id), act=True)
    d = disbursements().propose(
        case_id, call.body, by=call.actor, idempotency_key=call.header(HEADER)
    )
    return json_response(
        staff_view(d, call.actor),
        status=201,
        headers={"Location": f"/disbursements/{d.disbursement_id}"},
    )


@route(blueprint, "/cases/{case_id}/disbursements", roles=READERS, answer=CaseDisbursements)
def of_case(call: Call, case_id: str) -> dict[str, Any]:
    """Every disbursement of the case with its status, oldest first."""
    check_case(call.actor, case_service().get(case_id))
    found = disbursements().of_case(case_id)
    return {"disbursements": [staff_view(d, call.actor) for d in found]}


@route(
    blueprint, "/disbursements", roles=READERS, query=QueueQuery, answer=Items[DisbursementShown]
)
def queue(call: Call) -> dict[str, Any]:
    """A court's queue of disbursements in one state, oldest proposal first."""
    q: QueueQuery = call.query
    if not call.actor.sees(q.court):
        raise CourtNotYours(f"you neither belong to nor oversee court {q.court}")
    found = disbursements().queue(q.court, q.state, limit=q.limit)
    return {"items": [staff_view(d, call.actor) for d in found]}


@route(blueprint, "/disbursements/{disbursement_id}", roles=READERS, answer=DisbursementShown)
def get_one(call: Call, disbursement_id: str) -> dict[str, Any]:
    return staff_view(_in_courts(call.actor, disbursement_id, act=False), call.actor)


@steps.step(STEP + "approve", roles=DECIDERS, body=Decision)
def approve(call: Call, d: Disbursement) -> Disbursement:
    """One level of the chain; the last level reserves the money and sends the claim link."""
    return disbursements().approve(d.disbursement_id, by=call.actor, note=call.body.note)


@steps.step(STEP + "reject", roles=DECIDERS, body=Rejection)
def reject(call: Call, d: Disbursement) -> Disbursement:
    return disbursements().reject(d.disbursement_id, by=call.actor, reason=call.body.reason)


@steps.step(STEP + "return", roles=DECIDERS, body=Question)
def return_for_information(call: Call, d: Disbursement) -> Disbursement:
    """The step waiting goes back to the proposer with a question; it waits for the answer."""
    return disbursements().return_for_information(
        d.disbursement_id, by=call.actor, question=call.body.question
    )


@steps.step(STEP + "answer", roles=PROPOSERS, body=Answer)
def answer(call: Call, d: Disbursement) -> Disbursement:
    """The proposer answers the question; the same step waits again."""
    return disbursements().answer(d.disbursement_id, by=call.actor, answer=call.body.answer)


@steps.step(STEP + "cancel", roles=CANCELLERS, body=Rejection)
def cancel(call: Call, d: Disbursement) -> Disbursement:
    """Withdraw before the money is released; a reservation goes back to the case."""
    return disbursements().cancel(d.disbursement_id, by=call.actor, reason=call.body.reason)


@steps.step(STEP + "deferral", roles=PROPOSERS, body=DeferralRequest)
def request_deferral(call: Call, d: Disbursement) -> Disbursement:
    """延缓发放: ask to hold an approved payout, with the reason and the end date."""
    return disbursements().request_deferral(d.disbursement_id, call.body, by=call.actor)


@steps.step(STEP + "deferral/approve", roles=DECIDERS)
def approve_deferral(call: Call, d: Disbursement) -> Disbursement:
    return disbursements().decide_deferral(d.disbursement_id, by=call.actor, approve=True)


@steps.step(STEP + "deferral/refuse", roles=DECIDERS, body=Rejection)
def refuse_deferral(call: Call, d: Disbursement) -> Disbursement:
    return disbursements().decide_deferral(
        d.disbursement_id, by=call.actor, approve=False, reason=call.body.reason
    )


@steps.step(STEP + "deferral/return", roles=DECIDERS, body=Question)
def return_deferral(call: Call, d: Disbursement) -> Disbursement:
    """The deferral's step goes back to the clerk who asked for it, with a question."""
    return disbursements().return_deferral(
        d.disbursement_id, by=call.actor, question=call.body.question
    )


@steps.step(STEP + "deferral/answer", roles=PROPOSERS, body=Answer)
def answer_deferral(call: Call, d: Disbursement) -> Disbursement:
    """The clerk who asked for the deferral answers; the same step waits again."""
    return disbursements().answer_deferral(
        d.disbursement_id, by=call.actor, answer=call.body.answer
    )


@steps.step(STEP + "resume", roles=DECIDERS)
def resume(call: Call, d: Disbursement) -> Disbursement:
    """End a deferral before its end date."""
    return disbursements().resume(d.disbursement_id, by=call.actor)


@steps.step(STEP + "staff-release", roles=FINANCE, body=StaffRelease)
def request_staff_release(call: Call, d: Disbursement) -> Disbursement:
    """Finance asks to pay without the creditor's face check (an organisation, no phone)."""
    return disbursements().request_staff_release(
        d.disbursement_id, by=call.actor, reason=call.body.reason
    )


@steps.step(STEP + "staff-release/confirm", roles=DECIDERS)
def confirm_staff_release(call: Call, d: Disbursement) -> Disbursement:
    """A step of the staff-release chain; its last one, a second person, sends the payout."""
    return payout_sender().decide_staff_release(d.disbursement_id, by=call.actor, approve=True)


@steps.step(STEP + "staff-release/refuse", roles=DECIDERS, body=Rejection)
def refuse_staff_release(call: Call, d: Disbursement) -> Disbursement:
    return payout_sender().decide_staff_release(
        d.disbursement_id, by=call.actor, approve=False, reason=call.body.reason
    )


@steps.step(STEP + "staff-release/return", roles=DECIDERS, body=Question)
def return_staff_release(call: Call, d: Disbursement) -> Disbursement:
    """The staff release's step goes back to finance, who asked for it, with a question."""
    return disbursements().return_staff_release(
        d.disbursement_id, by=call.actor, question=call.body.question
    )


@steps.step(STEP + "staff-release/answer", roles=FINANCE, body=Answer)
def answer_staff_release(call: Call, d: Disbursement) -> Disbursement:
    """Finance, who asked for the staff release, answers; the same step waits again."""
    return disbursements().answer_staff_release(
        d.disbursement_id, by=call.actor, answer=call.body.answer
    )


@steps.step(STEP + "reissue", roles=FINANCE, body=Decision)
def reissue(call: Call, d: Disbursement) -> Disbursement:
    """After a failure or a return: reserve again; a new release is needed."""
    return disbursements().reissue(d.disbursement_id, by=call.actor, note=call.body.note)


@steps.step(STEP + "claim-link", roles=PROPOSERS)
def new_claim_link(call: Call, d: Disbursement) -> Disbursement:
    """Send the creditor a new claim link; the old one stops working."""
    return disbursements().send_new_claim_link(d.disbursement_id, by=call.actor)


# -- the creditor ----------------------------------------------------------------------------


@route(
    blueprint, "/claims/lookup", methods=["POST"], public=True, body=ClaimLookup, answer=ClaimShown
)
def claim_lookup(call: Call) -> dict[str, Any]:
    """What the claim page shows: the case, the amount, the masked account, the status."""
    return claim_view(payout_sender().claim(call.body.code, client=_client(call)))


@route(
    blueprint, "/claims/release", methods=["POST"], public=True, body=FaceRelease, answer=ClaimShown
)
def claim_release(call: Call) -> dict[str, Any]:
    """The creditor's face check passed: its grant releases this payout, once."""
    body: FaceRelease = call.body
    d = payout_sender().release_by_face(body.code, body.grant, client=_client(call))
    return claim_view(d)


# -- the rail --------------------------------------------------------------------------------


@route(
    blueprint,
    "/webhooks/stripe/payouts",
    methods=["POST"],
    public=True,
    raw_body=True,
    answer=PayoutEventReceived,
)
def payout_webhook(call: Call) -> dict[str, str]:
    """A signed notice that a payout changed; the payout is read back before money moves."""
    return payout_sender().on_webhook(call.raw_body, dict(call.request.headers))


@blueprint.schedule(Rate(SWEEP_EVERY_MINUTES, unit=Rate.MINUTES))
def sweep_payouts(event: Any) -> dict[str, int]:
    """Finish payouts a crash left half-way, settle those the webhook missed, end deferrals,
    expire unreleased reservations."""
    return payout_sender().sweep().model_dump()
