"""The face verifier in memory: the selfie says whose face it is, and a seed makes it fail.

It implements the ``FaceVerifier`` interface as the real adapters behave where it matters to
the money: a clear face of the creditor matches, a clear face of someone else does not (a
failure that counts towards the lock), a dark photo is refused for its quality (no failure),
and Rekognition not answering is ``FaceServiceUnavailable`` (503, nothing recorded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.identity.errors import FaceServiceUnavailable
from chalicelib.identity.face_decisions import FaceDecision, Outcome, QualityVerdict, Refusal

CREDITOR_FACE = b"\xff\xd8\xff sim: the creditor's face"
OTHER_FACE = b"\xff\xd8\xff sim: someone else's face"
DARK_PHOTO = b"\xff\xd8\xff sim: too dark to see"
SELFIES = (CREDITOR_FACE, CREDITOR_FACE, OTHER_FACE, OTHER_FACE, DARK_PHOTO)


@dataclass
class SimFaceVerifier:
    name: str = "sim"
    armed: str | None = None  # "unavailable": the next comparison is not answered
    compared: int = field(default=0)

    def inspect(self, image: bytes) -> QualityVerdict:
        if image == DARK_PHOTO:
            return QualityVerdict(Refusal.TOO_DARK, ("face_count", "brightness"))
        return QualityVerdict(None, ("face_count", "brightness"), {"brightness": 80.0})

    def compare(self, reference: bytes, selfie: bytes) -> FaceDecision:
        if self.armed == "unavailable":
            self.armed = None
            raise FaceServiceUnavailable("the face check did not answer; try again in a minute")
        self.compared += 1
        quality = self.inspect(selfie)
        if quality.refusal is not None:
            return self._decision(Outcome.REFUSED, 1.0, quality.refusal)
        same = selfie == CREDITOR_FACE and reference == CREDITOR_FACE
        return self._decision(Outcome.MATCH if same else Outcome.NO_MATCH, 0.3 if same else 0.8)

    def _decision(
        self, outcome: Outcome, distance: float, refusal: Refusal | None = None
    ) -> FaceDecision:
        return FaceDecision(
            outcome=outcome,
            verifier=self.name,
            model_version="sim-1",
            checks=("face_count", "brightness", "compare"),
            scores={"distance": distance},
            thresholds={"distance": 0.5},
            refusal=refusal,
        )
