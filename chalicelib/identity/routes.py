"""Face verification routes: the case officer enrols a creditor's reference photo, the creditor's
claim page sends a selfie for the payout its claim code opens and gets a grant on a match, staff
see and unlock locked claims."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from chalice.app import Blueprint, Rate, Response
from pydantic import Field

from chalicelib import wiring
from chalicelib.bodies import Reason, RequestBody
from chalicelib.http import Call, client_address, json_response, route
from chalicelib.identity import READERS, Role
from chalicelib.identity.errors import PhotoRefused
from chalicelib.problems import Conflict, NotFound
from chalicelib.ratelimit import Bucket
from chalicelib.wiring import case_service, face_checks, payout_sender, reference_photos

blueprint = Blueprint(__name__)

OFFICERS = (Role.CLERK, Role.ADMIN)
_ID = r"^[A-Za-z0-9_-]{1,64}$"


def _photo_limit() -> int:
    return wiring.settings().face_photo_max_bytes


def _json_photo_limit() -> int:
    # base64 makes a photo a third larger, plus the few fields around it
    return _photo_limit() * 4 // 3 + 4096


class ClaimFaceCheck(RequestBody):
    """The creditor's claim code (as the claim page holds it) and the selfie, base64."""

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$")
    photo: str = Field(min_length=100)


class UnlockRequest(RequestBody):
    reason: Reason


def _creditor(case_id: str, party_id: str) -> tuple[Any, Any]:
    from chalicelib.cases import PartyRole

    case = case_service().get(case_id)
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
    _creditor(case_id, party_id)
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
    "/claims/face-check",
    methods=["POST"],
    public=True,
    body=ClaimFaceCheck,
    max_body_bytes=_json_photo_limit,
    rate_limit=Bucket.FACE_CHECK,
)
def claim_face_check(call: Call) -> dict[str, Any]:
    """The creditor's selfie against the reference photo, for the payout the claim code opens;
    a match answers with a grant bound to that payout, which ``POST /claims/release`` spends.

    The payout (disbursement, case, creditor, amount, destination) comes from the claim the code
    opens, never from the request. A wrong code is counted against the client and refused
    before anything of the claim is read or written; a valid code has its own limit per window,
    whatever the outcome of its checks."""
    from chalicelib.payouts import Binding
    from chalicelib.payouts.claims import client_key
    from chalicelib.payouts.face_grants import binding_of

    request: ClaimFaceCheck = call.body
    d = payout_sender().claim(request.code, client=client_key(client_address(call.request)))
    if wiring.settings().rate_limits_on and d.claim_ref:
        wiring.rate_limiter().hit(Bucket.CLAIM_FACE_CHECK, d.claim_ref)
    if d.state.value != "approved":
        raise Conflict("this payout is not waiting for the face check")
    try:
        selfie = base64.b64decode(request.photo, validate=True)
    except (binascii.Error, ValueError) as error:
        raise PhotoRefused("the photo is not base64", reason="not_an_image") from error
    binding = binding_of(Binding.of(d))
    result = face_checks().check(binding, selfie, court=d.court_code, case_number=d.case_number)
    return result.as_dict()


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


def _claim_view(disbursement_id: str) -> dict[str, Any]:
    state, events = face_checks().trail(disbursement_id)
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
    return _claim_view(disbursement_id)


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
    face_checks().unlock(disbursement_id, actor=call.actor.actor, reason=request.reason)
    return _claim_view(disbursement_id)


class LockedQuery(RequestBody):
    court: str = Field(min_length=2, max_length=20)


@route(blueprint, "/identity/locked-claims", roles=OFFICERS, query=LockedQuery)
def locked_claims(call: Call) -> dict[str, Any]:
    """The case officers' queue: claims of a court locked after failed face checks."""
    query: LockedQuery = call.query
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
