"""The live face check where the stage enables liveness: the claim starts a Rekognition Face
Liveness session, and only a finished session of that claim, judged live, is compared with the
reference photo; Rekognition is answered at the botocore boundary (Stubber)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from pydantic import ValidationError

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.identity.face_decisions import QualityRules
from chalicelib.identity.face_rekognition import RekognitionFaceVerifier
from chalicelib.payouts.bodies import ProposeDisbursement
from chalicelib.settings import load
from tests.payouts.conftest import CLERK, World, approve_all

Face = Callable[[str], bytes]
JSON = {"Content-Type": "application/json"}
SESSION = "0f0e0d0c-0b0a-4909-8807-060504030201"
OTHER_SESSION = "1f0e0d0c-0b0a-4909-8807-060504030202"
RULES = QualityRules(
    min_width_fraction=0.15, min_width_pixels=80, min_brightness=25, min_sharpness=10
)
FACE = {
    "BoundingBox": {"Left": 0.3, "Top": 0.2, "Width": 0.35, "Height": 0.45},
    "Landmarks": [{"Type": "nose", "X": 0.47, "Y": 0.45}],
    "Quality": {"Brightness": 70.0, "Sharpness": 80.0},
    "Confidence": 99.9,
}


def _post(api: Any, path: str, body: dict[str, Any]) -> Any:
    return api.post(path, body=json.dumps(body).encode(), headers=JSON)


@pytest.fixture
def live(claim: dict[str, Any]) -> Iterator[Stubber]:
    """The stage with liveness on and Rekognition as the verifier, its client stubbed."""
    client = boto3.client("rekognition", region_name="us-east-1")
    settings = wiring.settings().model_copy(
        update={"face_liveness": True, "face_verifier": "rekognition"}
    )
    with Stubber(client) as stubber:
        wiring.override(
            settings=settings, face_verifier=RekognitionFaceVerifier(client, rules=RULES)
        )
        yield stubber
        stubber.assert_no_pending_responses()


def _started(stub: Stubber, session: str = SESSION) -> None:
    stub.add_response(
        "create_face_liveness_session",
        {"SessionId": session},
        {"ClientRequestToken": ANY, "Settings": {"AuditImagesLimit": 0}},
    )


def _finished(
    stub: Stubber, status: str, confidence: float, image: bytes, session: str = SESSION
) -> None:
    stub.add_response(
        "get_face_liveness_session_results",
        {"SessionId": session, "Status": status, "Confidence": confidence,
         "ReferenceImage": {"Bytes": image}},
        {"SessionId": session},
    )  # fmt: skip


def _start(api: Any, code: str) -> Any:
    return _post(api, "/claims/face-liveness", {"code": code})


def _result(api: Any, code: str, session: str = SESSION) -> Any:
    return _post(api, "/claims/face-liveness/result", {"code": code, "session_id": session})


def test_a_live_check_of_the_creditor_releases_the_payout_once(
    live: Stubber, api: Any, world: World, claim: dict[str, Any], face: Face
) -> None:
    _started(live)
    started = _start(api, claim["code"])
    assert started.status_code == 201, started.body
    assert json.loads(started.body) == {"session_id": SESSION}
    _finished(live, "SUCCEEDED", 97.5, face("obama2.jpg"))
    live.add_response("detect_faces", {"FaceDetails": [FACE]}, {"Image": ANY, "Attributes": ANY})
    live.add_response(
        "compare_faces",
        {"FaceMatches": [{"Similarity": 99.6, "Face": {"BoundingBox": FACE["BoundingBox"]}}]},
        {"SourceImage": ANY, "TargetImage": ANY, "SimilarityThreshold": 0.0},
    )
    answer = _result(api, claim["code"])
    assert answer.status_code == 200, answer.body
    result = json.loads(answer.body)
    assert (result["outcome"], result["liveness"]) == ("match", "passed")
    released = _post(api, "/claims/release", {"code": claim["code"], "grant": result["grant"]})
    assert released.status_code == 200, released.body
    assert world.rail.calls.count("send") == 1
    [decision] = wiring.face_store().claim_events(claim["disbursement_id"])
    assert decision.details["checks"][0] == "liveness"
    assert decision.details["scores"]["liveness_confidence"] == 97.5
    assert decision.details["thresholds"]["liveness"] == 90.0


def test_starting_a_live_check_reads_no_biometric_photo(
    live: Stubber, api: Any, world: World, claim: dict[str, Any], buckets: Any
) -> None:
    reads: list[str] = []
    buckets.meta.events.register(
        "before-call.s3.GetObject", lambda params, **_: reads.append(params["url_path"])
    )
    _started(live)
    started = _start(api, claim["code"])
    assert started.status_code == 201, started.body
    assert reads == []


def test_a_purged_reference_photo_starts_no_live_check(
    live: Stubber, api: Any, world: World, claim: dict[str, Any], clock: FixedClock
) -> None:
    store = wiring.face_store()
    record = store.reference(world.case.case_id, world.creditor_id)
    assert record is not None
    assert store.put_reference(replace(record, purged_at=clock.now()), replacing=record)
    answer = _start(api, claim["code"])  # no session is stubbed: none may be created
    assert answer.status_code == 404
    assert json.loads(answer.body)["type"].endswith("identity/no-reference-photo")


def test_a_session_serves_one_decision_of_its_own_claim_only(
    live: Stubber, api: Any, world: World, claim: dict[str, Any], face: Face
) -> None:
    """A finished session of one claim (the creditor's own face) cannot be replayed, nor used
    by another payout's claim; an id no claim started is refused too. Rekognition is not
    asked for any of them (the stub would fail on an unplanned call)."""
    _started(live)
    assert _start(api, claim["code"]).status_code == 201
    _finished(live, "SUCCEEDED", 30.0, face("obama2.jpg"))
    assert json.loads(_result(api, claim["code"]).body)["outcome"] == "no_match"
    replayed = _result(api, claim["code"])
    assert replayed.status_code == 409
    assert json.loads(replayed.body)["type"].endswith("identity/liveness-session-refused")
    assert _result(api, claim["code"], OTHER_SESSION).status_code == 409

    _started(live, OTHER_SESSION)
    assert _start(api, claim["code"]).status_code == 201
    body = ProposeDisbursement.model_validate(
        {"creditor_party_id": world.creditor_id, "amount": 100_000, "note": "第二笔"}
    )
    other = world.workflow.propose(world.case.case_id, body, by=CLERK)
    approve_all(world.workflow, other)
    other_code = world.claim_codes()[-1]
    assert _result(api, other_code, OTHER_SESSION).status_code == 409
    assert world.rail.calls == []


def test_a_face_not_judged_live_is_a_failure_and_an_unfinished_check_is_not(
    live: Stubber, api: Any, claim: dict[str, Any], face: Face
) -> None:
    _started(live)
    _start(api, claim["code"])
    _finished(live, "SUCCEEDED", 41.0, face("obama2.jpg"))
    spoof = json.loads(_result(api, claim["code"]).body)
    assert (spoof["outcome"], spoof["liveness"]) == ("no_match", "failed")
    assert spoof["attempts_left"] == 4  # a face not judged live counts as a failed attempt
    assert spoof["grant"] is None

    _started(live, OTHER_SESSION)
    _start(api, claim["code"])
    _finished(live, "EXPIRED", 0.0, b"", OTHER_SESSION)
    unfinished = json.loads(_result(api, claim["code"], OTHER_SESSION).body)
    assert (unfinished["outcome"], unfinished["reason"]) == ("refused", "liveness_incomplete")
    assert unfinished["advice"]["en"].startswith("the live check did not finish")
    assert unfinished["attempts_left"] == 4


def test_a_photo_alone_is_refused_where_the_stage_checks_liveness(
    live: Stubber, api: Any, claim: dict[str, Any], face: Face
) -> None:
    photo = base64.b64encode(face("obama2.jpg")).decode()
    answer = _post(api, "/claims/face-check", {"code": claim["code"], "photo": photo})
    assert answer.status_code == 409
    assert json.loads(answer.body)["type"].endswith("identity/liveness-required")
    assert wiring.face_store().claim_events(claim["disbursement_id"]) == []


def test_a_photo_is_not_sent_to_human_review_where_the_stage_checks_liveness(
    live: Stubber, api: Any, claim: dict[str, Any], face: Face, buckets: Any
) -> None:
    photo = base64.b64encode(face("obama2.jpg")).decode()
    answer = _post(api, "/claims/face-review", {"code": claim["code"], "photo": photo})
    assert answer.status_code == 409
    assert json.loads(answer.body)["type"].endswith("identity/liveness-required")
    listed = buckets.list_objects_v2(Bucket="courtfunds-test-reference-photos", Prefix="review/")
    assert listed.get("Contents", []) == []  # no selfie kept for review
    assert wiring.face_store().claim_events(claim["disbursement_id"]) == []


def test_a_stage_without_liveness_starts_no_session(api: Any, claim: dict[str, Any]) -> None:
    answer = _start(api, claim["code"])
    assert answer.status_code == 409
    assert json.loads(answer.body)["type"].endswith("identity/liveness-not-used")


def test_liveness_is_refused_with_the_offline_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("FACE_LIVENESS", "true")
    with pytest.raises(ValidationError, match="face_liveness needs"):
        load()
    monkeypatch.setenv("FACE_VERIFIER", "rekognition")
    assert load().face_liveness
