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

from chalicelib.bodies import Answer, Question
from chalicelib.cases.scope import check_case
from chalicelib.http import Call, json_response, route
from chalicelib.idempotency import HEADER
from chalicelib.identity import READERS, CourtNotYours, Principal, Role
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
from chalicelib.payouts.views import claim_view, staff_view
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


def _in_courts(principal: Principal, disbursement_id: str, *, act: bool = True) -> None:
    """Another court's disbursement answers as a missing one; a court the person only
    oversees is read, never changed."""
    found = disbursements().get(disbursement_id)
    hidden = DisbursementNotFound(f"no disbursement {disbursement_id}")
    principal.check_court(found.court_code, act=act, hidden_as=hidden)


# -- staff -----------------------------------------------------------------------------------


@route(
    blueprint, "/cases/{case_id}/disbursements", methods=["POST"], roles=PROPOSERS,
    body=ProposeDisbursement,
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


@route(blueprint, "/cases/{case_id}/disbursements", roles=READERS)
def of_case(call: Call, case_id: str) -> dict[str, Any]:
    """Every disbursement of the case with its status, oldest first."""
    check_case(call.actor, case_service().get(case_id))
    found = disbursements().of_case(case_id)
    return {"disbursements": [staff_view(d, call.actor) for d in found]}


@route(blueprint, "/disbursements", roles=READERS, query=QueueQuery)
def queue(call: Call) -> dict[str, Any]:
    """A court's queue of disbursements in one state, oldest proposal first."""
    q: QueueQuery = call.query
    if not call.actor.sees(q.court):
        raise CourtNotYours(f"you neither belong to nor oversee court {q.court}")
    found = disbursements().queue(q.court, q.state, limit=q.limit)
    return {"items": [staff_view(d, call.actor) for d in found]}


@route(blueprint, "/disbursements/{disbursement_id}", roles=READERS)
def get_one(call: Call, disbursement_id: str) -> dict[str, Any]:
    _in_courts(call.actor, disbursement_id, act=False)
    return staff_view(disbursements().get(disbursement_id), call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/approve", methods=["POST"], roles=DECIDERS,
    body=Decision,
)  # fmt: skip
def approve(call: Call, disbursement_id: str) -> dict[str, Any]:
    """One level of the chain; the last level reserves the money and sends the claim link."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().approve(disbursement_id, by=call.actor, note=call.body.note)
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/reject", methods=["POST"], roles=DECIDERS,
    body=Rejection,
)  # fmt: skip
def reject(call: Call, disbursement_id: str) -> dict[str, Any]:
    _in_courts(call.actor, disbursement_id)
    d = disbursements().reject(disbursement_id, by=call.actor, reason=call.body.reason)
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/return", methods=["POST"], roles=DECIDERS,
    body=Question,
)  # fmt: skip
def return_for_information(call: Call, disbursement_id: str) -> dict[str, Any]:
    """The step waiting goes back to the proposer with a question; it waits for the answer."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().return_for_information(
        disbursement_id, by=call.actor, question=call.body.question
    )
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/answer", methods=["POST"], roles=PROPOSERS,
    body=Answer,
)  # fmt: skip
def answer(call: Call, disbursement_id: str) -> dict[str, Any]:
    """The proposer answers the question; the same step waits again."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().answer(disbursement_id, by=call.actor, answer=call.body.answer)
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/cancel", methods=["POST"], roles=CANCELLERS,
    body=Rejection,
)  # fmt: skip
def cancel(call: Call, disbursement_id: str) -> dict[str, Any]:
    """Withdraw before the money is released; a reservation goes back to the case."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().cancel(disbursement_id, by=call.actor, reason=call.body.reason)
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/deferral", methods=["POST"], roles=PROPOSERS,
    body=DeferralRequest,
)  # fmt: skip
def request_deferral(call: Call, disbursement_id: str) -> dict[str, Any]:
    """延缓发放: ask to hold an approved payout, with the reason and the end date."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().request_deferral(disbursement_id, call.body, by=call.actor)
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/deferral/approve", methods=["POST"],
    roles=DECIDERS,
)  # fmt: skip
def approve_deferral(call: Call, disbursement_id: str) -> dict[str, Any]:
    _in_courts(call.actor, disbursement_id)
    d = disbursements().decide_deferral(disbursement_id, by=call.actor, approve=True)
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/deferral/refuse", methods=["POST"],
    roles=DECIDERS, body=Rejection,
)  # fmt: skip
def refuse_deferral(call: Call, disbursement_id: str) -> dict[str, Any]:
    _in_courts(call.actor, disbursement_id)
    d = disbursements().decide_deferral(
        disbursement_id, by=call.actor, approve=False, reason=call.body.reason
    )
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/deferral/return", methods=["POST"],
    roles=DECIDERS, body=Question,
)  # fmt: skip
def return_deferral(call: Call, disbursement_id: str) -> dict[str, Any]:
    """The deferral's step goes back to the clerk who asked for it, with a question."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().return_deferral(disbursement_id, by=call.actor, question=call.body.question)
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/deferral/answer", methods=["POST"],
    roles=PROPOSERS, body=Answer,
)  # fmt: skip
def answer_deferral(call: Call, disbursement_id: str) -> dict[str, Any]:
    """The clerk who asked for the deferral answers; the same step waits again."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().answer_deferral(disbursement_id, by=call.actor, answer=call.body.answer)
    return staff_view(d, call.actor)


@route(blueprint, "/disbursements/{disbursement_id}/resume", methods=["POST"], roles=DECIDERS)
def resume(call: Call, disbursement_id: str) -> dict[str, Any]:
    """End a deferral before its end date."""
    _in_courts(call.actor, disbursement_id)
    return staff_view(disbursements().resume(disbursement_id, by=call.actor), call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/staff-release", methods=["POST"], roles=FINANCE,
    body=StaffRelease,
)  # fmt: skip
def request_staff_release(call: Call, disbursement_id: str) -> dict[str, Any]:
    """Finance asks to pay without the creditor's face check (an organisation, no phone)."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().request_staff_release(
        disbursement_id, by=call.actor, reason=call.body.reason
    )
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/staff-release/confirm", methods=["POST"],
    roles=DECIDERS,
)  # fmt: skip
def confirm_staff_release(call: Call, disbursement_id: str) -> dict[str, Any]:
    """A step of the staff-release chain; its last one, a second person, sends the payout."""
    _in_courts(call.actor, disbursement_id)
    d = payout_sender().decide_staff_release(disbursement_id, by=call.actor, approve=True)
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/staff-release/refuse", methods=["POST"],
    roles=DECIDERS, body=Rejection,
)  # fmt: skip
def refuse_staff_release(call: Call, disbursement_id: str) -> dict[str, Any]:
    _in_courts(call.actor, disbursement_id)
    d = payout_sender().decide_staff_release(
        disbursement_id, by=call.actor, approve=False, reason=call.body.reason
    )
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/staff-release/return", methods=["POST"],
    roles=DECIDERS, body=Question,
)  # fmt: skip
def return_staff_release(call: Call, disbursement_id: str) -> dict[str, Any]:
    """The staff release's step goes back to finance, who asked for it, with a question."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().return_staff_release(
        disbursement_id, by=call.actor, question=call.body.question
    )
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/staff-release/answer", methods=["POST"],
    roles=FINANCE, body=Answer,
)  # fmt: skip
def answer_staff_release(call: Call, disbursement_id: str) -> dict[str, Any]:
    """Finance, who asked for the staff release, answers; the same step waits again."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().answer_staff_release(
        disbursement_id, by=call.actor, answer=call.body.answer
    )
    return staff_view(d, call.actor)


@route(
    blueprint, "/disbursements/{disbursement_id}/reissue", methods=["POST"], roles=FINANCE,
    body=Decision,
)  # fmt: skip
def reissue(call: Call, disbursement_id: str) -> dict[str, Any]:
    """After a failure or a return: reserve again; a new release is needed."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().reissue(disbursement_id, by=call.actor, note=call.body.note)
    return staff_view(d, call.actor)


@route(blueprint, "/disbursements/{disbursement_id}/claim-link", methods=["POST"], roles=PROPOSERS)
def new_claim_link(call: Call, disbursement_id: str) -> dict[str, Any]:
    """Send the creditor a new claim link; the old one stops working."""
    _in_courts(call.actor, disbursement_id)
    d = disbursements().send_new_claim_link(disbursement_id, by=call.actor)
    return staff_view(d, call.actor)


# -- the creditor ----------------------------------------------------------------------------


@route(blueprint, "/claims/lookup", methods=["POST"], public=True, body=ClaimLookup)
def claim_lookup(call: Call) -> dict[str, Any]:
    """What the claim page shows: the case, the amount, the masked account, the status."""
    return claim_view(payout_sender().claim(call.body.code, client=_client(call)))


@route(blueprint, "/claims/release", methods=["POST"], public=True, body=FaceRelease)
def claim_release(call: Call) -> dict[str, Any]:
    """The creditor's face check passed: its grant releases this payout, once."""
    body: FaceRelease = call.body
    d = payout_sender().release_by_face(body.code, body.grant, client=_client(call))
    return claim_view(d)


# -- the rail --------------------------------------------------------------------------------


@route(blueprint, "/webhooks/stripe/payouts", methods=["POST"], public=True, raw_body=True)
def payout_webhook(call: Call) -> dict[str, str]:
    """A signed notice that a payout changed; the payout is read back before money moves."""
    return payout_sender().on_webhook(call.raw_body, dict(call.request.headers))


@blueprint.schedule(Rate(SWEEP_EVERY_MINUTES, unit=Rate.MINUTES))
def sweep_payouts(event: Any) -> dict[str, int]:
    """Finish payouts a crash left half-way, settle those the webhook missed, end deferrals,
    expire unreleased reservations."""
    return payout_sender().sweep().model_dump()
