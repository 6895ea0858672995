"""Amazon Rekognition as the face verifier (dev and prod): DetectFaces for quality, CompareFaces
against the reference photo, and Face Liveness sessions where the stage enables them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.identity.errors import FaceServiceBusy, FaceServiceUnavailable
from chalicelib.identity.face_decisions import (
    DetectedFace,
    FaceDecision,
    Outcome,
    Point,
    QualityRules,
    QualityVerdict,
    Refusal,
    assess,
)

# Rekognition's face model version is reported per call (FaceModelVersion is collection-only);
# CompareFaces has no version field, so the decision names the API.
MODEL_VERSION = "rekognition:CompareFaces"
_BUSY = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException"})
_BAD_IMAGE = frozenset({"InvalidImageFormatException", "ImageTooLargeException"})
# Amazon's own hosts (regional, FIPS, VPC endpoints, the China partition). Anything else, such
# as a moto server whose CompareFaces answers a canned 100% match whatever the faces, is refused.
_AMAZON_HOSTS = (".amazonaws.com", ".amazonaws.com.cn")


def amazon_endpoint(endpoint_url: str) -> bool:
    """Whether a client's endpoint is Amazon Rekognition itself, over TLS."""
    parts = urlsplit(endpoint_url)
    return parts.scheme == "https" and (parts.hostname or "").endswith(_AMAZON_HOSTS)


@dataclass(frozen=True)
class LivenessResult:
    session_id: str
    status: str
    confidence: float
    reference_image: bytes | None


def _face(detail: dict[str, Any]) -> DetectedFace:
    box = detail["BoundingBox"]
    quality = detail.get("Quality", {})
    return DetectedFace(
        left=float(box["Left"]),
        top=float(box["Top"]),
        width=float(box["Width"]),
        height=float(box["Height"]),
        landmarks=tuple(Point(float(m["X"]), float(m["Y"])) for m in detail.get("Landmarks", [])),
        brightness=float(quality["Brightness"]) if "Brightness" in quality else None,
        sharpness=float(quality["Sharpness"]) if "Sharpness" in quality else None,
    )


def _image_width(image: bytes) -> int:
    """The photo's width in pixels, read from its header (JPEG or PNG), for the size rule."""
    if image[:8] == b"\x89PNG\r\n\x1a\n":
        return int.from_bytes(image[16:20], "big")
    index = 2
    while index + 9 < len(image) and image[:2] == b"\xff\xd8":
        if image[index] != 0xFF:
            break
        marker = image[index + 1]
        length = int.from_bytes(image[index + 2 : index + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(image[index + 7 : index + 9], "big")
        index += 2 + length
    return 0


class RekognitionFaceVerifier:
    name = "rekognition"

    def __init__(
        self, client: Any, *, rules: QualityRules, similarity_threshold: float = 99.0
    ) -> None:
        endpoint = str(getattr(getattr(client, "meta", None), "endpoint_url", ""))
        if not amazon_endpoint(endpoint):
            # A face check decides who takes money: only Amazon's answer may decide it.
            raise FaceServiceUnavailable(
                f"the face check is not available: Rekognition at {endpoint} is not Amazon's"
            )
        self._client = client
        self._rules = rules
        self._threshold = similarity_threshold

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer: dict[str, Any] = getattr(self._client, operation)(**arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _BUSY:
                raise FaceServiceBusy("the face check is busy; try again in a minute") from error
            if code in _BAD_IMAGE:
                raise
            raise FaceServiceUnavailable(
                "the face check is not available right now; try again later"
            ) from error
        except BotoCoreError as error:
            raise FaceServiceUnavailable(
                "the face check is not available right now; try again later"
            ) from error
        return answer

    def _thresholds(self) -> dict[str, float]:
        return {**self._rules.thresholds(), "similarity": self._threshold}

    def _refused(
        self, refusal: Refusal, checks: tuple[str, ...], scores: dict[str, float]
    ) -> FaceDecision:
        return FaceDecision(
            outcome=Outcome.REFUSED,
            verifier=self.name,
            model_version=MODEL_VERSION,
            checks=checks,
            scores=dict(scores),
            thresholds=self._thresholds(),
            refusal=refusal,
        )

    def inspect(self, image: bytes) -> QualityVerdict:
        from botocore.exceptions import ClientError

        try:
            answer = self._call("detect_faces", Image={"Bytes": image}, Attributes=["DEFAULT"])
        except ClientError:
            return QualityVerdict(Refusal.NOT_AN_IMAGE, ("image_format",))
        faces = [_face(detail) for detail in answer.get("FaceDetails", [])]
        return assess(faces, image_width=_image_width(image), rules=self._rules)

    def compare(self, reference: bytes, selfie: bytes) -> FaceDecision:
        from botocore.exceptions import ClientError

        verdict = self.inspect(selfie)
        checks = (*verdict.checks,)
        if verdict.refusal is not None:
            return self._refused(verdict.refusal, checks, verdict.scores)
        try:
            answer = self._call(
                "compare_faces",
                SourceImage={"Bytes": selfie},
                TargetImage={"Bytes": reference},
                SimilarityThreshold=0.0,  # always report the score; our threshold decides
            )
        except ClientError:
            return self._refused(Refusal.NOT_AN_IMAGE, (*checks, "compare"), verdict.scores)
        similarity = max(
            (float(m["Similarity"]) for m in answer.get("FaceMatches", [])), default=0.0
        )
        matched = similarity >= self._threshold
        return FaceDecision(
            outcome=Outcome.MATCH if matched else Outcome.NO_MATCH,
            verifier=self.name,
            model_version=MODEL_VERSION,
            checks=(*checks, "compare"),
            scores={**verdict.scores, "similarity": round(similarity, 4)},
            thresholds=self._thresholds(),
        )

    def start_liveness(self, *, client_token: str) -> str:
        """A Face Liveness session for the phone's liveness component; returns its id."""
        answer = self._call(
            "create_face_liveness_session",
            ClientRequestToken=client_token,
            Settings={"AuditImagesLimit": 0},
        )
        return str(answer["SessionId"])

    def liveness_result(self, session_id: str) -> LivenessResult:
        answer = self._call("get_face_liveness_session_results", SessionId=session_id)
        reference = answer.get("ReferenceImage", {}).get("Bytes")
        return LivenessResult(
            session_id=session_id,
            status=str(answer["Status"]),
            confidence=float(answer.get("Confidence", 0.0)),
            reference_image=bytes(reference) if reference else None,
        )

    def compare_live(
        self, reference: bytes, session_id: str, *, min_confidence: float
    ) -> FaceDecision:
        """Where the stage enables liveness: the face the liveness session captured, compared
        with the reference photo, only if the session judged it a live person. A session that
        did not finish (still open, failed or expired) is refused with advice, not counted as a
        failure; one that finished and judged the face not live is a failure."""
        result = self.liveness_result(session_id)
        checks = ("liveness",)
        scores = {"liveness_confidence": result.confidence}
        thresholds = {**self._thresholds(), "liveness": min_confidence}
        if result.status != "SUCCEEDED" or result.reference_image is None:
            return FaceDecision(
                outcome=Outcome.REFUSED, verifier=self.name, model_version=MODEL_VERSION,
                checks=checks, scores=scores, thresholds=thresholds,
                refusal=Refusal.LIVENESS_INCOMPLETE, liveness=f"incomplete: {result.status}",
            )  # fmt: skip
        if result.confidence < min_confidence:
            return FaceDecision(
                outcome=Outcome.NO_MATCH, verifier=self.name, model_version=MODEL_VERSION,
                checks=checks, scores=scores, thresholds=thresholds, liveness="failed",
            )  # fmt: skip
        decision = self.compare(reference, result.reference_image)
        return FaceDecision(
            outcome=decision.outcome,
            verifier=self.name,
            model_version=MODEL_VERSION,
            checks=(*checks, *decision.checks),
            scores={**decision.scores, **scores},
            thresholds={**decision.thresholds, "liveness": min_confidence},
            refusal=decision.refusal,
            liveness="passed",
        )
