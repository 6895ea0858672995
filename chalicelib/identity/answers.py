"""The JSON answers of the face verification routes (see ``chalicelib.answers``): what the
creditor's phone is told, the reviewers' and case officers' queues, and a claim's trail
(decisions only, never a photo but to a reviewer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.answers import AnswerBody
from chalicelib.identity.face_decisions import Outcome, Refusal


class ReferencePhotoEnrolled(AnswerBody):
    case_id: str
    party_id: str
    enrolled_at: datetime
    enrolled_by: str
    quality: dict[str, float]


class Advice(AnswerBody):
    zh: str
    en: str


class FaceCheckShown(AnswerBody):
    """What the phone is told after a face check; a match carries the grant."""

    outcome: Outcome
    reason: Refusal | None
    advice: Advice | None
    attempts_left: int
    locked: bool
    liveness: str
    grant: str | None
    grant_expires_at: datetime | None


class LivenessStarted(AnswerBody):
    """The Face Liveness session the phone's liveness component runs, for this claim only."""

    session_id: str


class ReviewRequested(AnswerBody):
    state: str
    expires_at: datetime


class ReviewStanding(AnswerBody):
    """How the creditor's review stands; once approved, the face check's answer with the
    grant, issued once."""

    state: str
    grant: str | None
    outcome: Outcome | None = None
    reason: Refusal | None = None
    advice: Advice | None = None
    attempts_left: int | None = None
    locked: bool | None = None
    liveness: str | None = None
    grant_expires_at: datetime | None = None


class ReviewShown(AnswerBody):
    review_id: str
    disbursement_id: str
    case_id: str
    case_number: str
    court: str
    amount: int
    currency: str
    requested_at: datetime
    expires_at: datetime
    state: str
    decided_by: str | None


class ReviewQueue(AnswerBody):
    reviews: list[ReviewShown]


class ReviewPhotos(ReviewShown):
    """Both photos, base64, for the reviewer."""

    selfie: str
    reference: str


class TrailLine(AnswerBody):
    at: datetime
    kind: str  # decision, unlock or lock_notice
    actor: str
    details: dict[str, Any]


class ClaimChecks(AnswerBody):
    disbursement_id: str
    locked: bool
    locked_at: datetime | None
    recent_failures: int
    trail: list[TrailLine]


class LockedClaim(AnswerBody):
    disbursement_id: str
    locked_at: datetime | None
    recent_failures: int


class LockedClaims(AnswerBody):
    claims: list[LockedClaim]
