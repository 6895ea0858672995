"""What a face check looks at and decides: the quality rules both verifiers share, and the record
of a decision (which checks ran, scores, thresholds, model version; never the photo itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Refusal(StrEnum):
    """Why a photo cannot be used, each with an action the person can take."""

    NOT_AN_IMAGE = "not_an_image"
    TOO_MANY_PIXELS = "too_many_pixels"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    FACE_CUT = "face_cut"
    TOO_SMALL = "too_small"
    TOO_DARK = "too_dark"
    BLURRY = "blurry"
    LIVENESS_INCOMPLETE = "liveness_incomplete"


ADVICE: dict[Refusal, tuple[str, str]] = {
    Refusal.NOT_AN_IMAGE: ("请上传 JPEG 或 PNG 照片", "send a JPEG or PNG photo"),
    Refusal.TOO_MANY_PIXELS: (
        "照片尺寸过大，请缩小后再上传",
        "the photo is too large: send a smaller one",
    ),
    Refusal.NO_FACE: ("未检测到人脸：请正对镜头", "no face found: look straight at the camera"),
    Refusal.SEVERAL_FACES: ("画面中只能有您一人", "only you in the picture"),
    Refusal.FACE_CUT: (
        "请让整张脸都在画面内",
        "your whole face must be inside the picture: move back a little and centre it",
    ),
    Refusal.TOO_SMALL: ("请靠近一些", "move closer"),
    Refusal.TOO_DARK: ("光线太暗，请到亮一些的地方", "more light: move somewhere brighter"),
    Refusal.BLURRY: ("照片模糊，请拿稳手机", "the photo is blurred: hold the phone still"),
    Refusal.LIVENESS_INCOMPLETE: (
        "活体检测未完成：请在光线充足处按屏幕提示重新检测",
        "the live check did not finish: start it again in good light and follow the screen",
    ),
}


class Outcome(StrEnum):
    MATCH = "match"  # the same person: a grant may be issued
    NO_MATCH = "no_match"  # a clear face that is not the person on file: counts as a failure
    REFUSED = "refused"  # the photo cannot be judged (quality): the person tries again


@dataclass(frozen=True)
class Point:
    """A position as a fraction of the photo's width and height (0..1 inside the frame)."""

    x: float
    y: float


@dataclass(frozen=True)
class DetectedFace:
    """One face as a detector saw it. Box and landmarks are fractions of the photo, so they
    can lie outside 0..1 when the face is cut by the frame edge."""

    left: float
    top: float
    width: float
    height: float
    landmarks: tuple[Point, ...] = ()
    brightness: float | None = None  # 0..100
    sharpness: float | None = None  # 0..100


@dataclass(frozen=True)
class QualityRules:
    min_width_fraction: float
    min_width_pixels: int
    min_brightness: float
    min_sharpness: float
    # How close to the frame edge a landmark may come before the face counts as cut.
    edge_margin: float = 0.01

    def thresholds(self) -> dict[str, float]:
        """The limits as a decision records them, so an auditor sees why a photo was refused
        from the record alone (the scores beside them)."""
        return {
            "min_face_width_fraction": self.min_width_fraction,
            "min_face_width_pixels": self.min_width_pixels,
            "min_brightness": self.min_brightness,
            "min_sharpness": self.min_sharpness,
            "edge_margin": self.edge_margin,
        }


@dataclass(frozen=True)
class QualityVerdict:
    refusal: Refusal | None
    checks: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=dict)


def assess(faces: list[DetectedFace], *, image_width: int, rules: QualityRules) -> QualityVerdict:
    """The quality check, in the order a person fixes things: a face, only one, all of it in
    the frame, near enough, lit, still. A partial face is refused here, not left to the
    matcher, which may well match it."""
    if len(faces) != 1:
        refusal = Refusal.SEVERAL_FACES if faces else Refusal.NO_FACE
        return QualityVerdict(refusal, ("face_count",), {"faces": len(faces)})
    face = faces[0]
    low, high = rules.edge_margin, 1 - rules.edge_margin
    corners = (Point(face.left, face.top), Point(face.left + face.width, face.top + face.height))
    outside = [
        p for p in face.landmarks or corners if not (low <= p.x <= high and low <= p.y <= high)
    ]
    too_small = (
        face.width < rules.min_width_fraction or face.width * image_width < rules.min_width_pixels
    )
    scores: dict[str, float] = {
        "faces": 1,
        "points_outside_frame": len(outside),
        "face_width_fraction": round(face.width, 4),
    }
    steps = [
        ("inside_frame", Refusal.FACE_CUT, bool(outside)),
        ("face_size", Refusal.TOO_SMALL, too_small),
    ]
    if face.brightness is not None:
        scores["brightness"] = round(face.brightness, 2)
        steps.append(("brightness", Refusal.TOO_DARK, face.brightness < rules.min_brightness))
    if face.sharpness is not None:
        scores["sharpness"] = round(face.sharpness, 2)
        steps.append(("sharpness", Refusal.BLURRY, face.sharpness < rules.min_sharpness))
    checks = ["face_count"]
    for check, refusal, failed in steps:
        checks.append(check)
        if failed:
            return QualityVerdict(refusal, tuple(checks), scores)
    return QualityVerdict(None, tuple(checks), scores)


@dataclass(frozen=True)
class FaceDecision:
    """What a comparison decided and everything an auditor needs to see why."""

    outcome: Outcome
    verifier: str  # "local" or "rekognition"
    model_version: str
    checks: tuple[str, ...]
    scores: dict[str, float]
    thresholds: dict[str, float]
    refusal: Refusal | None = None
    liveness: str = "not_checked"  # the local verifier never checks liveness, and says so

    def as_record(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "verifier": self.verifier,
            "model_version": self.model_version,
            "checks": list(self.checks),
            "scores": dict(self.scores),
            "thresholds": dict(self.thresholds),
            "refusal": self.refusal.value if self.refusal else None,
            "liveness": self.liveness,
        }
