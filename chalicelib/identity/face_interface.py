"""The face verifier interface: check a photo's quality, compare a selfie with the reference photo.

Two adapters implement it, chosen by the ``face_verifier`` setting: Amazon Rekognition
(``face_rekognition``) and an offline dlib comparison (``face_local``). The services depend only
on this interface, so a court that may not send biometrics to a cloud changes a setting, not code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from chalicelib.identity.face_decisions import QualityRules

if TYPE_CHECKING:
    from chalicelib.identity.face_decisions import FaceDecision, QualityVerdict
    from chalicelib.settings import Settings


class FaceVerifier(Protocol):
    name: str

    def inspect(self, image: bytes) -> QualityVerdict:
        """The quality check alone (enrolment of a reference photo)."""
        ...

    def compare(self, reference: bytes, selfie: bytes) -> FaceDecision:
        """Quality-check the selfie, then compare it with the reference photo."""
        ...


@runtime_checkable
class LivenessVerifier(FaceVerifier, Protocol):
    """A verifier that also runs Face Liveness sessions (Rekognition; never the offline one)."""

    def start_liveness(self, *, client_token: str) -> str:
        """A new session for the phone's liveness component; its id."""
        ...

    def compare_live(
        self, reference: bytes, session_id: str, *, min_confidence: float
    ) -> FaceDecision:
        """The face a finished session captured, if judged live, against the reference."""
        ...


def quality_rules(settings: Settings) -> QualityRules:
    return QualityRules(
        min_width_fraction=settings.face_min_width_fraction,
        min_width_pixels=settings.face_min_width_pixels,
        min_brightness=settings.face_min_brightness,
        min_sharpness=settings.face_min_sharpness,
    )


def build_verifier(settings: Settings, *, rekognition: object | None = None) -> FaceVerifier:
    """The adapter the settings choose (``rekognition``: the composition root's client); the
    heavy imports (dlib, numpy) happen only here."""
    if settings.face_verifier == "rekognition":
        from chalicelib.identity.face_rekognition import RekognitionFaceVerifier

        if rekognition is None:
            raise RuntimeError("the Rekognition verifier needs a Rekognition client")
        return RekognitionFaceVerifier(
            rekognition,
            rules=quality_rules(settings),
            similarity_threshold=settings.face_similarity_threshold,
        )
    from chalicelib.identity.face_local import LocalFaceVerifier

    return LocalFaceVerifier(
        rules=quality_rules(settings), distance_threshold=settings.face_distance_threshold
    )
