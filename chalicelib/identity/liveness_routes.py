"""The claim page's live face check, where the stage enables liveness (``FACE_LIVENESS``): the
phone's liveness component runs a Rekognition Face Liveness session that this claim started,
and the face it captured, judged live, is compared with the reference photo."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response
from pydantic import Field

from chalicelib import wiring
from chalicelib.bodies import RequestBody
from chalicelib.http import Call, json_response, route
from chalicelib.identity.answers import FaceCheckShown, LivenessStarted
from chalicelib.identity.errors import LivenessNotUsed
from chalicelib.ratelimit import Bucket
from chalicelib.wiring import face_checks

blueprint = Blueprint(__name__)

CODE = r"^[A-Za-z0-9_-]{43}$"
SESSION = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class StartLiveCheck(RequestBody):
    code: str = Field(pattern=CODE)


class LiveCheckResult(RequestBody):
    code: str = Field(pattern=CODE)
    session_id: str = Field(pattern=SESSION)


def _live_stage() -> None:
    if not wiring.settings().face_liveness:
        raise LivenessNotUsed("this court's face check takes a photo (POST /claims/face-check)")


@route(
    blueprint,
    "/claims/face-liveness",
    methods=["POST"],
    public=True,
    body=StartLiveCheck,
    rate_limit=Bucket.FACE_CHECK,
    answer={201: LivenessStarted},
)
def start_live_check(call: Call) -> Response:
    """A Face Liveness session for the payout the claim code opens; it counts against the
    code's face checks, as a photo check does."""
    from chalicelib.identity.routes import claimed

    _live_stage()
    request: StartLiveCheck = call.body
    _, binding = claimed(call, request.code)
    return json_response({"session_id": face_checks().start_live(binding)}, status=201)


@route(
    blueprint,
    "/claims/face-liveness/result",
    methods=["POST"],
    public=True,
    body=LiveCheckResult,
    rate_limit=Bucket.FACE_CHECK,
    answer=FaceCheckShown,
)
def live_check_result(call: Call) -> dict[str, Any]:
    """The finished session's face against the reference photo: a match answers with the grant
    that ``POST /claims/release`` spends. A session is used once, and only by its own claim."""
    from chalicelib.identity.routes import claimed

    _live_stage()
    request: LiveCheckResult = call.body
    d, binding = claimed(call, request.code, photo=False)  # counted when the session started
    result = face_checks().check_live(
        binding, request.session_id, court=d.court_code, case_number=d.case_number
    )
    return result.as_dict()
