"""The offline face verifier: dlib's face detector, 68-point shape predictor and ResNet face
encoder, with the model files that the ``face_recognition_models`` package ships.

For ``make run`` and for courts that may not send biometrics to a cloud. It is a development and
on-premises dependency (requirements-face.txt), never packaged into the Lambda. It checks no
liveness: every decision it makes says ``liveness: not_checked``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import threading
from collections import OrderedDict
from importlib import metadata
from pathlib import Path
from typing import Any

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

MAX_SIDE = 800  # larger photos are scaled down first: detection time grows with the pixels
# A few kilobytes of PNG can declare a picture of hundreds of millions of pixels; decoding one
# would take gigabytes. Phones send at most 640 pixels; a camera's original is under this.
MAX_PIXELS = 50_000_000
REFERENCES_KEPT = 16  # encodings of reference photos kept in memory, by the photo's digest
SHARPNESS_SIDE = 128  # the face is measured at one size, so the score does not depend on distance
SHARPNESS_SCALE = 4.0  # variance of the Laplacian / SHARPNESS_SCALE gives the 0..100 scale

_models_lock = threading.Lock()
_models: dict[str, Any] = {}


def _model_files() -> Path:
    # Found without importing the package, whose __init__ needs pkg_resources.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("install requirements-face.txt for the local face verifier")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _load() -> dict[str, Any]:
    """dlib and its three models, loaded once per process (about a second)."""
    with _models_lock:
        if not _models:
            import dlib

            folder = _model_files()
            _models["detector"] = dlib.get_frontal_face_detector()
            _models["shape"] = dlib.shape_predictor(
                str(folder / "shape_predictor_68_face_landmarks.dat")
            )
            _models["encoder"] = dlib.face_recognition_model_v1(
                str(folder / "dlib_face_recognition_resnet_model_v1.dat")
            )
            _models["version"] = (
                f"dlib {dlib.__version__}; dlib_face_recognition_resnet_model_v1, "
                f"shape_predictor_68_face_landmarks (face_recognition_models "
                f"{metadata.version('face_recognition_models')})"
            )
        return _models


def model_version() -> str:
    return str(_load()["version"])


class TooManyPixels(ValueError):
    """The photo declares more pixels than are decoded (``MAX_PIXELS``)."""


class _Photo:
    """A decoded photo: RGB pixels, upright as the phone took it, at most MAX_SIDE wide."""

    def __init__(self, image: bytes) -> None:
        import numpy as np
        from PIL import Image, ImageOps, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(image)) as opened:
                if opened.width * opened.height > MAX_PIXELS:  # read from the header alone
                    raise TooManyPixels(f"{opened.width}x{opened.height}")
                upright = ImageOps.exif_transpose(opened).convert("RGB")
        except Image.DecompressionBombError as error:  # Pillow's own limit, met on opening
            raise TooManyPixels(str(error)) from error
        except TooManyPixels:
            raise
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise ValueError("not an image") from error
        upright.thumbnail((MAX_SIDE, MAX_SIDE))
        self.pixels = np.asarray(upright)
        self.height, self.width = self.pixels.shape[:2]
        self.gray = np.asarray(upright.convert("L"), dtype=np.float32)


def _measure(photo: _Photo, rect: Any, shape: Any) -> DetectedFace:
    import numpy as np
    from PIL import Image

    w, h = photo.width, photo.height
    left, top = max(rect.left(), 0), max(rect.top(), 0)
    right, bottom = min(rect.right(), w), min(rect.bottom(), h)
    crop = photo.gray[top:bottom, left:right]
    brightness = float(crop.mean()) / 255 * 100 if crop.size else 0.0
    sharpness = 0.0
    if crop.size:
        small = Image.fromarray(crop.astype("uint8")).resize((SHARPNESS_SIDE, SHARPNESS_SIDE))
        g = np.asarray(small, dtype=np.float32)
        laplacian = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
        sharpness = min(100.0, float(laplacian.var()) / SHARPNESS_SCALE)
    return DetectedFace(
        left=rect.left() / w,
        top=rect.top() / h,
        width=rect.width() / w,
        height=rect.height() / h,
        landmarks=tuple(Point(p.x / w, p.y / h) for p in shape.parts()),
        brightness=brightness,
        sharpness=sharpness,
    )


class LocalFaceVerifier:
    name = "local"

    def __init__(self, *, rules: QualityRules, distance_threshold: float = 0.5) -> None:
        self._rules = rules
        self._threshold = distance_threshold
        # A creditor who retries is compared with the same reference photo each time; its
        # encoding is kept (never the photo) so a retry pays for one photo, not two.
        self._references: OrderedDict[str, Any] = OrderedDict()
        self._references_lock = threading.Lock()

    def _faces(self, photo: _Photo) -> tuple[list[DetectedFace], list[Any]]:
        models = _load()
        # Upsampling once finds faces down to about 40 px, so "move closer" is said by the size
        # rule with a measured face rather than "no face" for a small one.
        rects = list(models["detector"](photo.pixels, 1))
        shapes = [models["shape"](photo.pixels, rect) for rect in rects]
        return [_measure(photo, r, s) for r, s in zip(rects, shapes, strict=True)], shapes

    def _verdict(self, image: bytes) -> tuple[QualityVerdict, _Photo | None, list[Any]]:
        try:
            photo = _Photo(image)
        except TooManyPixels:
            return QualityVerdict(Refusal.TOO_MANY_PIXELS, ("image_size",)), None, []
        except ValueError:
            return QualityVerdict(Refusal.NOT_AN_IMAGE, ("image_format",)), None, []
        faces, shapes = self._faces(photo)
        return assess(faces, image_width=photo.width, rules=self._rules), photo, shapes

    def inspect(self, image: bytes) -> QualityVerdict:
        return self._verdict(image)[0]

    def _descriptor(self, photo: _Photo, shape: Any) -> Any:
        import numpy as np

        return np.array(_load()["encoder"].compute_face_descriptor(photo.pixels, shape, 1))

    def _reference(self, reference: bytes) -> Any:
        digest = hashlib.sha256(reference).hexdigest()
        with self._references_lock:
            if digest in self._references:
                self._references.move_to_end(digest)
                return self._references[digest]
        on_file, photo, shapes = self._verdict(reference)
        if on_file.refusal is not None or photo is None:
            # Enrolment checks the reference photo, so this means it was replaced or damaged.
            raise ValueError(f"the reference photo on file fails its check: {on_file.refusal}")
        encoding = self._descriptor(photo, shapes[0])
        with self._references_lock:
            self._references[digest] = encoding
            while len(self._references) > REFERENCES_KEPT:
                self._references.popitem(last=False)
        return encoding

    def compare(self, reference: bytes, selfie: bytes) -> FaceDecision:
        import numpy as np

        thresholds = {**self._rules.thresholds(), "distance": self._threshold}
        verdict, photo, shapes = self._verdict(selfie)
        if verdict.refusal is not None or photo is None:
            return FaceDecision(
                outcome=Outcome.REFUSED,
                verifier=self.name,
                model_version=model_version(),
                checks=verdict.checks,
                scores=dict(verdict.scores),
                thresholds=thresholds,
                refusal=verdict.refusal or Refusal.NOT_AN_IMAGE,
            )
        distance = float(
            np.linalg.norm(self._descriptor(photo, shapes[0]) - self._reference(reference))
        )
        return FaceDecision(
            outcome=Outcome.MATCH if distance <= self._threshold else Outcome.NO_MATCH,
            verifier=self.name,
            model_version=model_version(),
            checks=(*verdict.checks, "compare"),
            scores={**verdict.scores, "distance": round(distance, 4)},
            thresholds=thresholds,
        )
