"""Face verification routes: the case officer enrols a creditor's reference photo, the creditor's
claim page sends a selfie for the payout its claim code opens and gets a grant on a match (or
asks a person to review a refusal), staff see and unlock locked claims and decide reviews."""

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
from chalicelib.identity import READERS, CourtNotYours, Principal, Role
from chalicelib.identity.answers import (
    ClaimChecks,
    FaceCheckShown,
    LockedClaims,
    ReferencePhotoEnrolled,
    ReviewPhotos,
    ReviewQueue,
    ReviewRequested,
    ReviewShown,
    ReviewStanding,
)
from chalicelib.identity.errors import LivenessRequired, PhotoRefused, ReviewNotFound
from chalicelib.problems import Conflict, NotFound
from chalicelib.ratelimit import Bucket
from chalicelib.wiring import (
    case_service,
    face_checks,
    face_reviews,
    payout_sender,
    reference_photos,
)

blueprint = Blueprint(__name__)

OFFICERS = (Role.CLERK, Role.ADMIN)


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
    answer={201: ReferencePhotoEnrolled},
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
    "/claims/face-check",
    methods=["POST"],
    public=True,
    body=ClaimFaceCheck,
    max_body_bytes=_json_photo_limit,
    rate_limit=Bucket.FACE_CHECK,
    answer=FaceCheckShown,
)
def claim_face_check(call: Call) -> dict[str, Any]:
    """The creditor's selfie against the reference photo, for the payout the claim code opens;
    a match answers with a grant bound to that payout, which ``POST /claims/release`` spends.

    The payout (disbursement, case, creditor, amount, destination) comes from the claim the code
    opens, never from the request. A wrong code is counted against the client and refused
    before anything of the claim is read or written; a valid code has its own limit per window,
    whatever the outcome of its checks."""
    request: ClaimFaceCheck = call.body
    _refuse_photo_where_liveness()
    d, binding = claimed(call, request.code)
    selfie = _photo(request.photo)
    result = face_checks().check(binding, selfie, court=d.court_code, case_number=d.case_number)
    return result.as_dict()


def _refuse_photo_where_liveness() -> None:
    """A photo alone proves no live face: where the stage checks liveness, nothing takes one."""
    if wiring.settings().face_liveness:
        raise LivenessRequired(
            "this court checks a live face: start a live check (POST /claims/face-liveness)"
        )


def claimed(call: Call, code: str, *, photo: bool = True) -> tuple[Any, Any]:
    """The payout a claim code opens, waiting for release, and the binding a grant takes from
    it. A wrong code counts against the client; a valid one sending a photo against itself."""
    from chalicelib.payouts import Binding
    from chalicelib.payouts.claims import client_key
    from chalicelib.payouts.face_grants import binding_of

    d = payout_sender().claim(code, client=client_key(client_address(call.request)))
    if photo and wiring.settings().rate_limits_on and d.claim_ref:
        wiring.rate_limiter().hit(Bucket.CLAIM_FACE_CHECK, d.claim_ref)
    if d.state.value != "approved":
        raise Conflict("this payout is not waiting for the face check")
    return d, binding_of(Binding.of(d))


def _photo(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise PhotoRefused("the photo is not base64", reason="not_an_image") from error


# -- human review of a refused face check ---------------------------------------------------

REVIEWERS = (Role.CLERK, Role.APPROVER, Role.ADMIN)


class ClaimCode(RequestBody):
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$")


class ReviewDecision(RequestBody):
    approve: bool
    reason: Reason


@route(
    blueprint,
    "/claims/face-review",
    methods=["POST"],
    public=True,
    body=ClaimFaceCheck,
    max_body_bytes=_json_photo_limit,
    rate_limit=Bucket.FACE_CHECK,
    answer={202: ReviewRequested},
)
def request_face_review(call: Call) -> Response:
    """A creditor refused by the face check asks a person to compare the photos; the selfie is
    kept encrypted until the review is decided or its retention runs out."""
    request: ClaimFaceCheck = call.body
    # where the stage checks a live face, a person looking at a plain photo is no way round it
    _refuse_photo_where_liveness()
    d, binding = claimed(call, request.code)
    review = face_reviews().request(
        binding, _photo(request.photo), court=d.court_code, case_number=d.case_number,
        proposed_by=d.proposed_by,
    )  # fmt: skip
    return json_response(
        {"state": review.state, "expires_at": review.expires_at.isoformat()}, status=202
    )


@route(
    blueprint,
    "/claims/face-review/status",
    methods=["POST"],
    public=True,
    body=ClaimCode,
    rate_limit=Bucket.LOOKUP,
    answer=ReviewStanding,
)
def face_review_status(call: Call) -> dict[str, Any]:
    """How the creditor's review stands; once approved, the grant (issued now, once). The page
    asks every 10 seconds, so this counts as a lookup, not as a face check."""
    request: ClaimCode = call.body
    _, binding = claimed(call, request.code, photo=False)
    collected = face_reviews().collect(binding)
    if collected.result is None:
        return {"state": collected.state, "grant": None}
    return {"state": collected.state, **collected.result.as_dict()}


def _review_view(review: Any) -> dict[str, Any]:
    return {
        "review_id": review.review_id,
        "disbursement_id": review.disbursement_id,
        "case_id": review.binding.case_id,
        "case_number": review.case_number,
        "court": review.court,
        "amount": review.binding.amount_fen,
        "currency": review.binding.currency,
        "requested_at": review.requested_at.isoformat(),
        "expires_at": review.expires_at.isoformat(),
        "state": review.state,
        "decided_by": review.decided_by_actor,
    }


class ReviewQuery(RequestBody):
    court: str = Field(min_length=2, max_length=20)


@route(blueprint, "/identity/face-reviews", roles=REVIEWERS, query=ReviewQuery, answer=ReviewQueue)
def face_review_queue(call: Call) -> dict[str, Any]:
    """The reviewers' queue: a court's reviews waiting for a decision."""
    query: ReviewQuery = call.query
    if not call.actor.sees(query.court):
        raise CourtNotYours(f"you neither belong to nor oversee court {query.court}")
    return {"reviews": [_review_view(r) for r in face_reviews().queue(query.court)]}


@route(blueprint, "/identity/face-reviews/{review_id}", roles=REVIEWERS, answer=ReviewPhotos)
def face_review_photos(call: Call, review_id: str) -> dict[str, Any]:
    """Both photos for the reviewer, base64 (the look is recorded in the claim's trail). Only
    staff who act in the review's court see them; a higher court overseeing it does not."""
    _in_review_court(call.actor, review_id)
    review, selfie, reference = face_reviews().photos(
        review_id, subject=call.actor.subject, actor=call.actor.actor
    )
    return {
        **_review_view(review),
        "selfie": base64.b64encode(selfie).decode(),
        "reference": base64.b64encode(reference).decode(),
    }


@route(
    blueprint,
    "/identity/face-reviews/{review_id}/decision",
    methods=["POST"],
    roles=REVIEWERS,
    body=ReviewDecision,
    answer=ReviewShown,
)
def decide_face_review(call: Call, review_id: str) -> dict[str, Any]:
    """The reviewer decides; never the person who proposed the payout. The selfie is deleted."""
    request: ReviewDecision = call.body
    _in_review_court(call.actor, review_id)
    review = face_reviews().decide(
        review_id, approve=request.approve, subject=call.actor.subject,
        actor=call.actor.actor, reason=request.reason,
    )  # fmt: skip
    return _review_view(review)


def _in_review_court(principal: Principal, review_id: str) -> None:
    """Another court's review answers as no review at all; an overseer may not act on it."""
    court = face_reviews().court_of(review_id)
    principal.check_court(court, act=True, hidden_as=ReviewNotFound("no such review"))


@blueprint.schedule(Rate(1, unit=Rate.HOURS))
def purge_face_reviews(event: Any) -> dict[str, int]:
    """Delete the selfies of reviews past their retention, undecided."""
    return {"purged": face_reviews().purge()}


def _concluded_at(case_id: str) -> datetime | None:
    from chalicelib.cases import CaseNotFound, CaseStatus

    try:
        case = case_service().get(case_id)
        if case.status is not CaseStatus.CONCLUDED:
            return None
        trail = case_service().history(case_id)
    except CaseNotFound:
        return None  # never delete on a lookup that failed; the next run looks again
    # The conclusion as the case's trail records it: a concluded case still changes afterwards
    # (an account change decided later), so its last change is not its conclusion.
    concluded = [
        event.at
        for event in trail
        if event.action == "status_changed" and event.details.get("to") == CaseStatus.CONCLUDED
    ]
    return max(concluded, default=case.updated_at)


@blueprint.schedule(Rate(1, unit=Rate.DAYS))
def purge_reference_photos(event: Any) -> dict[str, int]:
    """Delete the reference photos of cases concluded longer ago than the retention period."""
    report = reference_photos().purge(
        _concluded_at, retention_days=wiring.settings().reference_photo_retention_days
    )
    return {
        "examined": report.examined,
        "purged": report.purged,
        "uploads_finished": report.uploads_finished,
    }


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


@route(blueprint, "/identity/claims/{disbursement_id}", roles=READERS, answer=ClaimChecks)
def claim_trail(call: Call, disbursement_id: str) -> dict[str, Any]:
    """Every face check on a claim (decisions only, never a photo) and every unlock."""
    return _claim_view(disbursement_id, call.actor)


@route(
    blueprint,
    "/identity/claims/{disbursement_id}/unlock",
    methods=["POST"],
    roles=OFFICERS,
    body=UnlockRequest,
    answer=ClaimChecks,
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


@route(blueprint, "/identity/locked-claims", roles=OFFICERS, query=LockedQuery, answer=LockedClaims)
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
