"""The offline verifier (dlib) on the test photos: the same person passes, another fails, two
faces and the partial face are refused with their reasons, and every decision says what ran."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image, ImageEnhance

from chalicelib.identity.face_decisions import Outcome, QualityRules, Refusal
from chalicelib.identity.face_local import LocalFaceVerifier
from tests.identity.conftest import as_jpeg

RULES = QualityRules(
    min_width_fraction=0.15, min_width_pixels=80, min_brightness=25, min_sharpness=10
)
Face = Callable[[str], bytes]


@pytest.fixture(scope="module")
def verifier() -> LocalFaceVerifier:
    return LocalFaceVerifier(rules=RULES, distance_threshold=0.5)


def test_the_same_person_matches(verifier: LocalFaceVerifier, face: Face) -> None:
    decision = verifier.compare(face("obama.jpg"), face("obama2.jpg"))
    assert decision.outcome is Outcome.MATCH, decision
    assert decision.scores["distance"] < 0.45
    assert decision.thresholds == {**RULES.thresholds(), "distance": 0.5}
    assert decision.checks == (
        "face_count",
        "inside_frame",
        "face_size",
        "brightness",
        "sharpness",
        "compare",
    )
    assert "dlib" in decision.model_version
    assert decision.liveness == "not_checked"


def test_another_person_does_not_match(verifier: LocalFaceVerifier, face: Face) -> None:
    decision = verifier.compare(face("obama.jpg"), face("biden.jpg"))
    assert decision.outcome is Outcome.NO_MATCH
    assert decision.scores["distance"] > 0.7


def test_two_people_are_refused(verifier: LocalFaceVerifier, face: Face) -> None:
    decision = verifier.compare(face("obama.jpg"), face("two_people.jpg"))
    assert decision.outcome is Outcome.REFUSED
    assert decision.refusal is Refusal.SEVERAL_FACES


def test_the_partial_face_is_refused_by_the_quality_check(
    verifier: LocalFaceVerifier, face: Face
) -> None:
    decision = verifier.compare(face("obama.jpg"), face("obama_partial_face.jpg"))
    assert decision.outcome is Outcome.REFUSED
    assert decision.refusal is Refusal.FACE_CUT
    assert "compare" not in decision.checks
    assert decision.scores["points_outside_frame"] > 0
    assert decision.thresholds["edge_margin"] == RULES.edge_margin


def test_a_dark_photo_asks_for_more_light(verifier: LocalFaceVerifier, face: Face) -> None:
    with Image.open(io.BytesIO(face("obama2.jpg"))) as photo:
        dark = as_jpeg(ImageEnhance.Brightness(photo).enhance(0.3))
    assert verifier.inspect(dark).refusal is Refusal.TOO_DARK


def test_a_distant_face_asks_to_come_closer(verifier: LocalFaceVerifier, face: Face) -> None:
    with Image.open(io.BytesIO(face("obama2.jpg"))) as photo:
        canvas = Image.new("RGB", (photo.width * 4, photo.height * 4), (200, 200, 200))
        canvas.paste(photo.convert("RGB"), (photo.width * 3 // 2, photo.height * 3 // 2))
    assert verifier.inspect(as_jpeg(canvas)).refusal is Refusal.TOO_SMALL


def test_something_that_is_not_a_photo_is_refused(verifier: LocalFaceVerifier) -> None:
    assert verifier.inspect(b"%PDF-1.7 not a photo").refusal is Refusal.NOT_AN_IMAGE


def _png_header(width: int, height: int) -> bytes:
    """A PNG's signature and header chunk (8-bit grey) with an empty image: what a reader sees
    before it decodes anything."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def test_a_photo_declaring_too_many_pixels_is_refused_before_it_is_decoded(
    verifier: LocalFaceVerifier, face: Face
) -> None:
    """A few hundred kilobytes of PNG can declare 400 million pixels (Pillow's own bomb
    error) or 81 million (half a gigabyte to decode): both are refused from the header, which
    is all these photos are."""
    for side in (20_000, 9_000):
        decision = verifier.compare(face("obama.jpg"), _png_header(side, side))
        assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.TOO_MANY_PIXELS)
        assert decision.checks == ("image_size",)
