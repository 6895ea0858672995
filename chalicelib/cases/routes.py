"""Case routes: court staff open, find, list and change the status of cases."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice.app import Blueprint, Response

from chalicelib.bodies import Answer, Question
from chalicelib.cases.answers import CaseBalances, CaseHistory, CaseList, CaseShown
from chalicelib.cases.errors import CaseNotFound
from chalicelib.cases.models import (
    ApproveAccountChange,
    Case,
    ChangeStatus,
    ListQuery,
    OpenCase,
    ProposeReceivingAccount,
    RejectAccountChange,
)
from chalicelib.cases.scope import check_case
from chalicelib.cases.views import case_view, event_view
from chalicelib.http import Call, json_response, route
from chalicelib.identity import READERS, CourtNotYours, Role
from chalicelib.step_routes import StepRoutes
from chalicelib.wiring import case_service, receiving_account_changes

blueprint = Blueprint(__name__)

FILERS = (Role.CLERK, Role.ADMIN)
DECIDERS = (Role.APPROVER, Role.FINANCE)
RECEIVING_ACCOUNT = "/cases/{case_id}/creditors/{party_id}/receiving-account"


@route(
    blueprint, "/cases", methods=["POST"], roles=FILERS, body=OpenCase,
    answer={201: CaseShown, 200: CaseShown},
)  # fmt: skip
def open_case(call: Call) -> Response:
    body: OpenCase = call.body
    if not call.actor.acts_in(body.court_code):
        raise CourtNotYours(f"you do not act in court {body.court_code}")
    case, created = case_service().open(call.body, actor=call.actor.actor)
    return json_response(
        case_view(case, call.actor),
        status=201 if created else 200,
        headers={"Location": f"/cases/{case.case_id}"},
    )


@route(blueprint, "/cases", roles=READERS, query=ListQuery, answer=CaseList)
def list_cases(call: Call) -> dict[str, Any]:
    if not call.actor.sees(call.query.court):
        raise CourtNotYours(f"you neither belong to nor oversee court {call.query.court}")
    page = case_service().list(call.query)
    return {"cases": [case_view(c, call.actor) for c in page.cases], "cursor": page.cursor}


@route(blueprint, "/cases/{case_id}", roles=READERS, answer=CaseShown)
def get_case(call: Call, case_id: str) -> dict[str, Any]:
    return case_view(check_case(call.actor, case_service().get(case_id)), call.actor)


@route(blueprint, "/cases/{case_id}/history", roles=READERS, answer=CaseHistory)
def case_history(call: Call, case_id: str) -> dict[str, Any]:
    check_case(call.actor, case_service().get(case_id))
    return {"events": [event_view(e, call.actor) for e in case_service().history(case_id)]}


@route(
    blueprint, "/cases/{case_id}/status", methods=["POST"], roles=FILERS, body=ChangeStatus,
    answer=CaseShown,
)  # fmt: skip
def change_status(call: Call, case_id: str) -> dict[str, Any]:
    body: ChangeStatus = call.body
    check_case(call.actor, case_service().get(case_id), act=True)
    case = case_service().change_status(
        case_id, body.status, reason=body.reason, actor=call.actor.actor
    )
    return case_view(case, call.actor)


@route(blueprint, "/cases/{case_id}/balances", roles=READERS, answer=CaseBalances)
def case_balances(call: Call, case_id: str) -> CaseBalances:
    """What the case account holds: posted, reserved for pending payouts, and available."""
    from chalicelib.wiring import ledger_service

    case = check_case(call.actor, case_service().get(case_id))
    return CaseBalances(
        case_id=case.case_id,
        case_number=case.case_number,
        account_number=case.account_number,
        adjudicated_amount=case.adjudicated_amount,
        balance=ledger_service().balance(case.account_number),
    )


@route(blueprint, "/case-accounts/{account_number}", roles=READERS, answer=CaseShown)
def find_by_account(call: Call, account_number: str) -> dict[str, Any]:
    # People type the number in groups ("4406 0426 ..."); the path carries it URL-encoded.
    typed = unquote(account_number)
    try:
        case = check_case(call.actor, case_service().find_by_account_number(typed))
    except CaseNotFound as hidden:
        raise CaseNotFound("no case has this account number") from hidden
    return case_view(case, call.actor)


# Every step on a creditor's receiving-account change: the case found in a court the caller
# acts in, shown as their role sees it.
changes = StepRoutes(
    blueprint,
    find=lambda call: check_case(call.actor, case_service().get(call.params["case_id"]), act=True),
    show=case_view,
    answer=CaseShown,
)


@changes.step(RECEIVING_ACCOUNT, roles=(Role.CLERK,), body=ProposeReceivingAccount, status=202)
def propose_receiving_account(call: Call, case: Case) -> Case:
    """The case's clerk proposes a creditor's new receiving account; it pays nothing until the
    approval chain approves it."""
    return receiving_account_changes().propose(
        case, call.params["party_id"], call.body, by=call.actor
    )


@changes.step(RECEIVING_ACCOUNT + "/approve", roles=DECIDERS, body=ApproveAccountChange)
def approve_receiving_account(call: Call, case: Case) -> Case:
    """The step of the change's chain that waits; the last one replaces the account."""
    return receiving_account_changes().approve(
        case, call.params["party_id"], by=call.actor, note=call.body.note
    )


@changes.step(RECEIVING_ACCOUNT + "/reject", roles=DECIDERS, body=RejectAccountChange)
def reject_receiving_account(call: Call, case: Case) -> Case:
    """Turn the change down with a reason; the creditor keeps the account confirmed before."""
    return receiving_account_changes().reject(
        case, call.params["party_id"], by=call.actor, reason=call.body.reason
    )


@changes.step(
    RECEIVING_ACCOUNT + "/withdraw", roles=(Role.CLERK, Role.ADMIN), body=RejectAccountChange
)
def withdraw_receiving_account(call: Call, case: Case) -> Case:
    """The clerk who proposed the change (or an admin) withdraws it before it is decided."""
    return receiving_account_changes().withdraw(
        case, call.params["party_id"], by=call.actor, reason=call.body.reason
    )


@changes.step(RECEIVING_ACCOUNT + "/return", roles=DECIDERS, body=Question)
def return_receiving_account(call: Call, case: Case) -> Case:
    """The approver of the waiting step asks the proposer a question before deciding."""
    return receiving_account_changes().ask(
        case, call.params["party_id"], by=call.actor, question=call.body.question
    )


@changes.step(RECEIVING_ACCOUNT + "/answer", roles=(Role.CLERK,), body=Answer)
def answer_receiving_account(call: Call, case: Case) -> Case:
    """The proposer answers the question; the same step waits again."""
    return receiving_account_changes().answer(
        case, call.params["party_id"], by=call.actor, answer=call.body.answer
    )
