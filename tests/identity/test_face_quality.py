"""The quality rules both verifiers share, on faces as a detector reports them."""

from __future__ import annotations

from chalicelib.identity.face_decisions import (
    ADVICE,
    DetectedFace,
    Point,
    QualityRules,
    Refusal,
    assess,
)

RULES = QualityRules(
    min_width_fraction=0.2, min_width_pixels=100, min_brightness=25, min_sharpness=10
)


def _face(**changes: object) -> DetectedFace:
    values: dict[str, object] = {
        "left": 0.3,
        "top": 0.25,
        "width": 0.4,
        "height": 0.5,
        "landmarks": (Point(0.35, 0.4), Point(0.65, 0.4), Point(0.5, 0.7)),
        "brightness": 60.0,
        "sharpness": 50.0,
    }
    values.update(changes)
    return DetectedFace(**values)  # type: ignore[arg-type]


def test_a_clear_face_passes_every_check() -> None:
    verdict = assess([_face()], image_width=640, rules=RULES)
    assert verdict.refusal is None
    assert verdict.checks == ("face_count", "inside_frame", "face_size", "brightness", "sharpness")
    assert verdict.scores["face_width_fraction"] == 0.4


def test_no_face_and_several_faces_are_refused() -> None:
    assert assess([], image_width=640, rules=RULES).refusal is Refusal.NO_FACE
    two = [_face(), _face(left=0.1)]
    assert assess(two, image_width=640, rules=RULES).refusal is Refusal.SEVERAL_FACES


def test_a_face_cut_by_the_frame_edge_is_refused() -> None:
    cut = _face(landmarks=(Point(-0.05, 0.4), Point(0.3, 0.4), Point(0.2, 0.7)))
    assert assess([cut], image_width=640, rules=RULES).refusal is Refusal.FACE_CUT
    # without landmarks the box itself decides
    boxed = _face(landmarks=(), left=0.8, width=0.3)
    assert assess([boxed], image_width=640, rules=RULES).refusal is Refusal.FACE_CUT


def test_a_small_face_is_told_to_come_closer() -> None:
    small = _face(width=0.1, left=0.45)
    verdict = assess([small], image_width=640, rules=RULES)
    assert verdict.refusal is Refusal.TOO_SMALL
    assert ADVICE[Refusal.TOO_SMALL][1] == "move closer"
    # wide enough as a fraction, but too few pixels in a tiny photo
    assert assess([_face()], image_width=200, rules=RULES).refusal is Refusal.TOO_SMALL


def test_a_dark_face_is_told_to_find_light_and_a_blurred_one_to_hold_still() -> None:
    assert assess([_face(brightness=10.0)], image_width=640, rules=RULES).refusal is (
        Refusal.TOO_DARK
    )
    assert assess([_face(sharpness=2.0)], image_width=640, rules=RULES).refusal is Refusal.BLURRY


def test_every_refusal_has_advice_in_chinese_and_english() -> None:
    for refusal in Refusal:
        chinese, english = ADVICE[refusal]
        assert chinese
        assert english
