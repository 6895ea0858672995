"""Face verification benchmarks: seconds per offline face decision on a 640x480 selfie, and
whether importing the app loads the face verifier (it must not: it is imported when used)."""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import Row

ROOT = Path(__file__).resolve().parent.parent
FACES = Path(os.environ.get("FACES_DIR", ROOT.parent / "shared" / "testdata" / "faces"))
DECISIONS = 5
_HEAVY = ("dlib", "numpy", "PIL", "chalicelib.identity.face_local")


def _selfie_640x480(photo: bytes) -> bytes:
    """The photo as a phone sends it: 640x480, the face centred, JPEG."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(photo)) as opened:
        framed = ImageOps.fit(opened.convert("RGB"), (640, 480), centering=(0.5, 0.3))
    out = io.BytesIO()
    framed.save(out, format="JPEG", quality=90)
    return out.getvalue()


def local_decision() -> list[Row]:
    reference, selfie = FACES / "obama.jpg", FACES / "obama2.jpg"
    if not (reference.is_file() and selfie.is_file()):
        return [
            Row("faces", "seconds per local face decision (640x480)", "-", "skipped", None,
                f"test photos absent in {FACES}; set FACES_DIR")
        ]  # fmt: skip
    from chalicelib.identity.face_decisions import Outcome, QualityRules
    from chalicelib.identity.face_local import LocalFaceVerifier

    verifier = LocalFaceVerifier(
        rules=QualityRules(min_width_fraction=0.15, min_width_pixels=80, min_brightness=25,
                           min_sharpness=10),
        distance_threshold=0.5,
    )  # fmt: skip
    on_file, phone = reference.read_bytes(), _selfie_640x480(selfie.read_bytes())
    started = time.perf_counter()
    first = verifier.compare(on_file, phone)  # loads the models, encodes the reference
    first_seconds = time.perf_counter() - started
    times = []
    for _ in range(DECISIONS):
        started = time.perf_counter()
        decision = verifier.compare(on_file, phone)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return [
        Row("faces", "seconds per local face decision (640x480 selfie)", "-", f"{median:.2f}",
            None, f"median of {DECISIONS}; outcome {decision.outcome.value}, distance "
            f"{decision.scores.get('distance')}; the reference's encoding is kept in memory"),
        Row("faces", "first local decision: models loaded, reference encoded", "-",
            f"{first_seconds:.2f}", None,
            "once per process" + ("" if first.outcome is Outcome.MATCH else "; NOT a match")),
    ]  # fmt: skip


_ROUTES = (
    "from chalicelib import route_map; "
    "route_map.loaded('chalicelib.identity.routes'); "
    "route_map.loaded('chalicelib.identity.liveness_routes'); "
    "route_map.loaded('chalicelib.payouts.routes')"
)


def _heavy_loaded(code: str) -> str:
    snippet = f"import sys; {code}; print(sorted(m for m in {_HEAVY!r} if m in sys.modules))"
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed snippet
        [sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def app_import_leaves_the_verifier_out() -> list[Row]:
    at_start, with_routes = _heavy_loaded("import app"), _heavy_loaded("import app; " + _ROUTES)
    return [
        Row("faces", "modules of the face verifier loaded by `import app`", "[]", at_start,
            at_start == "[]", "dlib, numpy and Pillow load on the first face check only"),
        Row("faces", "... and with the claim's routes loaded (identity, payouts)", "[]",
            with_routes, with_routes == "[]",
            "a claim lookup or release never loads the verifier"),
    ]  # fmt: skip


def run() -> list[Row]:
    return [*app_import_leaves_the_verifier_out(), *local_decision()]
