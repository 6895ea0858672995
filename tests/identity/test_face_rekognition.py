"""The Rekognition verifier at the botocore boundary (Stubber): what each answer decides."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from PIL import Image

from chalicelib.identity.errors import FaceServiceBusy, FaceServiceUnavailable
from chalicelib.identity.face_decisions import Outcome, QualityRules, Refusal
from chalicelib.identity.face_rekognition import RekognitionFaceVerifier, amazon_endpoint

RULES = QualityRules(
    min_width_fraction=0.2, min_width_pixels=100, min_brightness=25, min_sharpness=10
)


def _jpeg(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (128, 120, 110)).save(out, format="JPEG")
    return out.getvalue()


SELFIE = _jpeg()
REFERENCE = _jpeg(800, 600)


def _detail(left: float = 0.3, width: float = 0.35, brightness: float = 70.0) -> dict[str, Any]:
    return {
        "BoundingBox": {"Left": left, "Top": 0.2, "Width": width, "Height": 0.45},
        "Landmarks": [
            {"Type": "eyeLeft", "X": left + 0.1, "Y": 0.35},
            {"Type": "eyeRight", "X": left + width - 0.1, "Y": 0.35},
            {"Type": "nose", "X": left + width / 2, "Y": 0.45},
        ],
        "Quality": {"Brightness": brightness, "Sharpness": 80.0},
        "Confidence": 99.9,
    }


def _compare(similarity: float) -> dict[str, Any]:
    box = {"Left": 0.3, "Top": 0.2, "Width": 0.35, "Height": 0.45}
    return {
        "SourceImageFace": {"BoundingBox": box, "Confidence": 99.9},
        "FaceMatches": [{"Similarity": similarity, "Face": {"BoundingBox": box}}],
        "UnmatchedFaces": [],
    }


@pytest.fixture
def rekognition() -> Iterator[tuple[RekognitionFaceVerifier, Stubber]]:
    client = boto3.client("rekognition", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield RekognitionFaceVerifier(client, rules=RULES, similarity_threshold=99.0), stubber
        stubber.assert_no_pending_responses()


DETECT = {"Image": {"Bytes": SELFIE}, "Attributes": ["DEFAULT"]}
COMPARE = {
    "SourceImage": {"Bytes": SELFIE},
    "TargetImage": {"Bytes": REFERENCE},
    "SimilarityThreshold": 0.0,
}


def test_the_same_person_matches_above_the_threshold(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response("detect_faces", {"FaceDetails": [_detail()]}, DETECT)
    stub.add_response("compare_faces", _compare(99.7), COMPARE)
    decision = verifier.compare(REFERENCE, SELFIE)
    assert decision.outcome is Outcome.MATCH
    assert decision.scores["similarity"] == 99.7
    assert decision.thresholds == {**RULES.thresholds(), "similarity": 99.0}
    assert decision.checks[-1] == "compare"
    assert decision.verifier == "rekognition"


def test_a_similarity_below_the_threshold_is_no_match(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response("detect_faces", {"FaceDetails": [_detail()]}, DETECT)
    stub.add_response("compare_faces", _compare(97.5), COMPARE)
    decision = verifier.compare(REFERENCE, SELFIE)
    assert decision.outcome is Outcome.NO_MATCH
    assert decision.scores["similarity"] == 97.5


def test_no_face_is_refused_before_any_comparison(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response("detect_faces", {"FaceDetails": []}, DETECT)
    decision = verifier.compare(REFERENCE, SELFIE)
    assert decision.outcome is Outcome.REFUSED
    assert decision.refusal is Refusal.NO_FACE


def test_several_faces_are_refused(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response("detect_faces", {"FaceDetails": [_detail(0.05), _detail(0.55)]}, DETECT)
    assert verifier.compare(REFERENCE, SELFIE).refusal is Refusal.SEVERAL_FACES


def test_a_dark_or_cut_face_is_refused_with_its_reason(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response("detect_faces", {"FaceDetails": [_detail(brightness=8.0)]}, DETECT)
    stub.add_response("detect_faces", {"FaceDetails": [_detail(left=0.8)]}, DETECT)
    dark = verifier.compare(REFERENCE, SELFIE)
    assert dark.refusal is Refusal.TOO_DARK
    # the record alone shows why: the score beside the limit it missed
    assert (dark.scores["brightness"], dark.thresholds["min_brightness"]) == (8.0, 25)
    assert verifier.compare(REFERENCE, SELFIE).refusal is Refusal.FACE_CUT


def test_throttling_says_try_again_in_a_minute(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_client_error("detect_faces", "ThrottlingException", http_status_code=400)
    with pytest.raises(FaceServiceBusy):
        verifier.compare(REFERENCE, SELFIE)


def test_an_unavailable_service_is_a_503_not_a_decision(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response("detect_faces", {"FaceDetails": [_detail()]}, DETECT)
    stub.add_client_error("compare_faces", "ServiceUnavailableException", http_status_code=503)
    with pytest.raises(FaceServiceUnavailable) as raised:
        verifier.compare(REFERENCE, SELFIE)
    assert raised.value.status == 503


def test_a_photo_rekognition_cannot_read_is_refused(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_client_error("detect_faces", "InvalidImageFormatException")
    assert verifier.compare(REFERENCE, SELFIE).refusal is Refusal.NOT_AN_IMAGE


def test_liveness_session_and_its_result(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response(
        "create_face_liveness_session",
        {"SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201"},
        {"ClientRequestToken": "claim-1", "Settings": ANY},
    )
    stub.add_response(
        "get_face_liveness_session_results",
        {
            "SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201",
            "Status": "SUCCEEDED",
            "Confidence": 98.2,
            "ReferenceImage": {"Bytes": SELFIE},
        },
        {"SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201"},
    )
    session = verifier.start_liveness(client_token="claim-1")
    result = verifier.liveness_result(session)
    assert result.status == "SUCCEEDED"
    assert result.confidence == 98.2
    assert result.reference_image == SELFIE


def test_a_failed_liveness_session_never_matches(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response(
        "get_face_liveness_session_results",
        {
            "SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201",
            "Status": "SUCCEEDED",
            "Confidence": 41.0,
            "ReferenceImage": {"Bytes": SELFIE},
        },
        {"SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201"},
    )
    decision = verifier.compare_live(
        REFERENCE, "0f0e0d0c-0b0a-4909-8807-060504030201", min_confidence=90.0
    )
    assert decision.outcome is Outcome.NO_MATCH
    assert decision.liveness == "failed"


def test_a_live_session_is_compared_with_the_reference(rekognition: Any) -> None:
    verifier, stub = rekognition
    stub.add_response(
        "get_face_liveness_session_results",
        {
            "SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201",
            "Status": "SUCCEEDED",
            "Confidence": 97.0,
            "ReferenceImage": {"Bytes": SELFIE},
        },
        {"SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201"},
    )
    stub.add_response("detect_faces", {"FaceDetails": [_detail()]}, DETECT)
    stub.add_response("compare_faces", _compare(99.9), COMPARE)
    decision = verifier.compare_live(
        REFERENCE, "0f0e0d0c-0b0a-4909-8807-060504030201", min_confidence=90.0
    )
    assert decision.outcome is Outcome.MATCH
    assert decision.liveness == "passed"
    assert decision.checks[0] == "liveness"


def test_moto_would_match_anyone_so_only_amazons_endpoint_may_decide(face: Any) -> None:
    """moto answers CompareFaces with a canned 100% match whatever the faces; the local stack
    points AWS clients at a moto server. A Rekognition client pointed anywhere but Amazon is
    refused before it can decide anything."""
    from moto import mock_aws

    with mock_aws():
        canned = boto3.client("rekognition", region_name="us-east-1").compare_faces(
            SourceImage={"Bytes": face("biden.jpg")},
            TargetImage={"Bytes": face("obama.jpg")},
            SimilarityThreshold=0.0,
        )
    assert canned["FaceMatches"][0]["Similarity"] == 100.0  # two different people
    for endpoint in (
        "http://127.0.0.1:5000",
        "http://localhost:4566",
        "https://rekognition.example.com",
        "https://rekognition.us-east-1.amazonaws.com.example.com",
        "http://rekognition.us-east-1.amazonaws.com",
    ):
        client = boto3.client("rekognition", region_name="us-east-1", endpoint_url=endpoint)
        with pytest.raises(FaceServiceUnavailable, match="not Amazon's"):
            RekognitionFaceVerifier(client, rules=RULES)
    assert amazon_endpoint("https://rekognition.cn-north-1.amazonaws.com.cn")
    assert amazon_endpoint("https://rekognition-fips.us-east-1.amazonaws.com")
    assert amazon_endpoint("https://vpce-0a1b.rekognition.us-east-1.vpce.amazonaws.com")


def test_a_stage_whose_rekognition_endpoint_is_not_amazons_gets_no_verifier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib import wiring

    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("FACE_VERIFIER", "rekognition")
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", "http://127.0.0.1:5000")
    wiring.reset()
    try:
        with pytest.raises(FaceServiceUnavailable, match="not Amazon's"):
            wiring.face_verifier()
        monkeypatch.delenv("AWS_ENDPOINT_URL_REKOGNITION")
        wiring.reset()
        assert wiring.face_verifier().name == "rekognition"
    finally:
        wiring.reset()


@pytest.mark.parametrize("status", ["CREATED", "IN_PROGRESS", "FAILED", "EXPIRED"])
def test_an_unfinished_liveness_session_is_refused_not_failed(
    rekognition: Any, status: str
) -> None:
    verifier, stub = rekognition
    stub.add_response(
        "get_face_liveness_session_results",
        {"SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201", "Status": status},
        {"SessionId": "0f0e0d0c-0b0a-4909-8807-060504030201"},
    )
    decision = verifier.compare_live(
        REFERENCE, "0f0e0d0c-0b0a-4909-8807-060504030201", min_confidence=90.0
    )
    assert (decision.outcome, decision.refusal) == (
        Outcome.REFUSED,
        Refusal.LIVENESS_INCOMPLETE,
    )
    assert decision.liveness == f"incomplete: {status}"
