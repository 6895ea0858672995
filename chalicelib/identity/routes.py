"""Face verification routes: the case officer enrols a creditor's reference photo, the creditor's
phone sends a selfie for one payout and gets a grant on a match, staff see and unlock locked
claims."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from chalice.app import Blueprint, Rate, Response
from pydantic import Field

from chalicelib import wiring
from chalicelib.bodies import Reason, RequestBody
from chalicelib.http import Call, json_response, route
from chalicelib.identity import READERS, CourtNotYours, Principal, Role
from chalicelib.identity.errors import PhotoRefused
from chalicelib.money import PositiveFen
from chalicelib.problems import NotFound
from chalicelib.wiring import case_service, face_checks, reference_photos

blueprint = Blueprint(__name__)

OFFICERS = (Role.CLERK, Role.ADMIN)
_ID = r"^[A-Za-z0-9_-]{1,64}$"


def _photo_limit() -> int:
    return wiring.settings().face_photo_max_bytes


def _json_photo_limit() -> int:
    # base64 makes a photo a third larger, plus the few fields around it
    return _photo_limit() * 4 // 3 + 4096


class FaceCheckRequest(RequestBody):
    """One face check for one payout: which payout, and the selfie (base64 JPEG or PNG)."""

    disbursement_id: str = Field(pattern=_ID)
    attempt: int = Field(default=1, ge=1, le=1000)
    case_id: str = Field(pattern=_ID)
    creditor_party_id: str = Field(pattern=_ID)
    amount: PositiveFen
    photo: str = Field(min_length=100)


class UnlockRequest(RequestBody):
    reason: Reason


def _creditor(case_id: str, party_id: str, principal: Principal | None = None) -> tuple[Any, Any]:
    from chalicelib.cases import PartyRole
    from chalicelib.cases.scope import check_case

    case = case_service().get(case_id)
    if principal is not None:
        check_case(principal, case, act=True)
    for party in case.parties:
        if party.party_id == party_id and party.role is PartyRole.CREDITOR:
            return case, party
    raise NotFound("the case has no creditor with this party id")


@route(
    blueprint,
    "/identity/reference-photos/{case_id}/{party_id}",
    methods=["PUT"],
    roles=OFFICERS,
    raw_body=True,
    max_body_bytes=_photo_limit,
)
def enrol_reference_photo(call: Call, case_id: str, party_id: str) -> Response:
    """The creditor's reference photo, sent as the body (image/jpeg or image/png)."""
    _creditor(case_id, party_id, call.actor)
    record = reference_photos().enrol(case_id, party_id, call.raw_body, actor=call.actor.actor)
    return json_response(
        {
            "case_id": record.case_id,
            "party_id": record.party_id,
            "enrolled_at": record.enrolled_at.isoformat(),
            "enrolled_by": record.enrolled_by,
            "quality": record.scores,
        },
        status=201,
    )


@route(
    blueprint,
    "/identity/face-checks",
    methods=["POST"],
    public=True,
    body=FaceCheckRequest,
    max_body_bytes=_json_photo_limit,
)
def face_check(call: Call) -> dict[str, Any]:
    """The creditor's selfie against the reference photo, for one payout; a match answers
    with a grant bound to that payout (disbursement, case, creditor, amount, destination)."""
    from chalicelib.identity.grants import Binding, destination_digest

    request: FaceCheckRequest = call.body
    case, creditor = _creditor(request.case_id, request.creditor_party_id)
    if creditor.receiving_account is None:
        raise NotFound("the creditor has no confirmed receiving account")
    try:
        selfie = base64.b64decode(request.photo, validate=True)
    except (binascii.Error, ValueError) as error:
        raise PhotoRefused("the photo is not base64", reason="not_an_image") from error
    binding = Binding(
        disbursement_id=request.disbursement_id,
        attempt=request.attempt,
        case_id=case.case_id,
        creditor_party_id=creditor.party_id,
        amount_fen=request.amount,
        currency=case.currency,
        destination=destination_digest(creditor.receiving_account.account_number),
    )
    return face_checks().check(binding, selfie, court=case.court_code).as_dict()


def _concluded_at(case_id: str) -> datetime | None:
    from chalicelib.cases import CaseNotFound, CaseStatus

    try:
        case = case_service().get(case_id)
    except CaseNotFound:
        return None  # never delete on a lookup that failed; the next run looks again
    # Concluded is final, so the case's last change is its conclusion.
    return case.updated_at if case.status is CaseStatus.CONCLUDED else None


@blueprint.schedule(Rate(1, unit=Rate.DAYS))
def purge_reference_photos(event: Any) -> dict[str, int]:
    """Delete the reference photos of cases concluded longer ago than the retention period."""
    report = reference_photos().purge(
        _concluded_at, retention_days=wiring.settings().reference_photo_retention_days
    )
    return {"examined": report.examined, "purged": report.purged}


def _claim_view(disbursement_id: str, principal: Principal, *, act: bool = False) -> dict[str, Any]:
    """The claim's face checks. A claim of another court answers as one with no check at all
    (what an unknown disbursement shows); a court only overseen is read, never unlocked."""
    state, events = face_checks().trail(disbursement_id)
    if state.court and not principal.sees(state.court):
        return {
            "disbursement_id": disbursement_id,
            "locked": False,
            "locked_at": None,
            "recent_failures": 0,
            "trail": [],
        }
    if act and state.court and not principal.acts_in(state.court):
        raise CourtNotYours(f"you oversee court {state.court} but do not act in it")
    return {
        "disbursement_id": disbursement_id,
        "locked": state.locked,
        "locked_at": state.locked_at.isoformat() if state.locked_at else None,
        "recent_failures": len(state.failures),
        "trail": [
            {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "details": e.details}
            for e in events
        ],
    }


@route(blueprint, "/identity/claims/{disbursement_id}", roles=READERS)
def claim_trail(call: Call, disbursement_id: str) -> dict[str, Any]:
    """Every face check on a claim (decisions only, never a photo) and every unlock."""
    return _claim_view(disbursement_id, call.actor)


@route(
    blueprint,
    "/identity/claims/{disbursement_id}/unlock",
    methods=["POST"],
    roles=OFFICERS,
    body=UnlockRequest,
)
def unlock_claim(call: Call, disbursement_id: str) -> dict[str, Any]:
    """The case officer unlocks a claim locked after failed face checks, with a reason."""
    request: UnlockRequest = call.body
    seen = _claim_view(disbursement_id, call.actor, act=True)
    if not seen["locked"]:
        return seen  # nothing to unlock (or another court's claim, which looks the same)
    face_checks().unlock(disbursement_id, actor=call.actor.actor, reason=request.reason)
    return _claim_view(disbursement_id, call.actor)


class LockedQuery(RequestBody):
    court: str = Field(min_length=2, max_length=20)


@route(blueprint, "/identity/locked-claims", roles=OFFICERS, query=LockedQuery)
def locked_claims(call: Call) -> dict[str, Any]:
    """The case officers' queue: claims of a court locked after failed face checks."""
    query: LockedQuery = call.query
    if not call.actor.sees(query.court):
        raise CourtNotYours(f"you neither belong to nor oversee court {query.court}")
    return {
        "claims": [
            {
                "disbursement_id": c.disbursement_id,
                "locked_at": c.locked_at.isoformat() if c.locked_at else None,
                "recent_failures": len(c.failures),
            }
            for c in face_checks().locked(query.court)
        ]
    }
