"""Human review of a refused face check: the creditor's selfie kept encrypted for a few hours, a
reviewer of the court who did not propose the payout compares it with the reference photo, and
an approval lets the creditor collect the grant a passed check would have issued.

The selfie is deleted when the review is decided, or by the hourly purge once its retention
(``FACE_REVIEW_RETENTION_HOURS``) has passed, whichever comes first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.identity.errors import ClaimLocked, ReviewNotFound, ReviewRefused, SameReviewer
from chalicelib.identity.face_decisions import FaceDecision, Outcome
from chalicelib.identity.face_records import ClaimEvent, Contended, FaceStore
from chalicelib.identity.reference_photo_store import photo_media_type
from chalicelib.identity.review_records import ReviewStore

if TYPE_CHECKING:
    from chalicelib.clock import Clock
    from chalicelib.identity.face_service import CheckResult, FaceChecks
    from chalicelib.identity.grants import Binding
    from chalicelib.identity.reference_photo_store import ReferencePhotos

PENDING, APPROVED, REFUSED, EXPIRED, GRANTED = (
    "pending",
    "approved",
    "refused",
    "expired",
    "granted",
)
OPEN = (PENDING, APPROVED)


@dataclass(frozen=True)
class Review:
    review_id: str
    binding: Binding
    court: str
    case_number: str
    proposed_by: str  # the subject who proposed the payout: never its reviewer
    requested_at: datetime
    expires_at: datetime
    state: str = PENDING
    photo_key: str | None = None  # None once the selfie is deleted
    decided_by: str | None = None  # subject
    decided_by_actor: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None

    @property
    def disbursement_id(self) -> str:
        return self.binding.disbursement_id


@dataclass(frozen=True)
class Collected:
    """What the creditor's page learns about its review."""

    state: str
    result: CheckResult | None = None


class FaceReviews:
    def __init__(
        self,
        *,
        store: ReviewStore,
        claims: FaceStore,
        s3: Any,
        bucket: str,
        photos: ReferencePhotos,
        checks: FaceChecks,
        clock: Clock,
        retention: timedelta,
    ) -> None:
        self._store = store
        self._claims = claims
        self._s3 = s3
        self._bucket = bucket
        self._photos = photos
        self._checks = checks
        self._clock = clock
        self._retention = retention

    def request(
        self, binding: Binding, selfie: bytes, *, court: str, case_number: str, proposed_by: str
    ) -> Review:
        """The creditor, whose last face check on this payout was refused, asks a person to
        look: the selfie is kept encrypted until decided or expired. One open review per claim;
        a locked claim is unlocked by staff first."""
        media_type = photo_media_type(selfie)
        decisions = [
            e for e in self._claims.claim_events(binding.disbursement_id) if e.kind == "decision"
        ]
        last = decisions[-1].details if decisions else None
        if last is None or last["outcome"] == "match" or last["binding"] != binding.__dict__:
            raise ReviewRefused("a review is asked for after the face check refused this payout")
        if self._claims.claim(binding.disbursement_id).locked:
            raise ClaimLocked(
                "this claim is locked after too many failed face checks; the case officer "
                "unlocks it first",
                disbursement_id=binding.disbursement_id,
            )
        now = self._clock.now()
        key = f"review/{uuid.uuid4().hex}"  # no name, case or ID number in the key
        review = Review(
            review_id=uuid.uuid4().hex, binding=binding, court=court, case_number=case_number,
            proposed_by=proposed_by, requested_at=now, expires_at=now + self._retention,
            photo_key=key,
        )  # fmt: skip
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=selfie, ContentType=media_type,
            ServerSideEncryption="aws:kms",
        )  # fmt: skip
        event = ClaimEvent(at=now, kind="review_requested", actor="creditor",
                           details={"review_id": review.review_id,
                                    "expires_at": review.expires_at.isoformat()})  # fmt: skip
        try:
            self._store.open_review(review, event)
        except Contended as error:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
            raise ReviewRefused("a review of this claim is already open") from error
        return review

    def queue(self, court: str) -> list[Review]:
        """A court's reviews waiting for a decision, oldest first."""
        return [r for r in self._store.open_reviews() if r.court == court and r.state == PENDING]

    def court_of(self, review_id: str) -> str:
        """The court a review belongs to, read before anything is shown or recorded, so staff
        of another court see none of it."""
        review = self._store.review(review_id)
        if review is None:
            raise ReviewNotFound("no such review")
        return review.court

    def photos(self, review_id: str, *, subject: str, actor: str) -> tuple[Review, bytes, bytes]:
        """Both photos for a reviewer (never the payout's proposer): the selfie and the
        reference. Each look is recorded."""
        review = self._pending(review_id)
        if subject == review.proposed_by:
            raise SameReviewer("the person who proposed the payout cannot review its face check")
        if review.photo_key is None:
            raise ReviewRefused("the selfie of this review has been deleted")
        selfie = self._s3.get_object(Bucket=self._bucket, Key=review.photo_key)["Body"].read()
        reference = self._photos.photo(review.binding.case_id, review.binding.creditor_party_id)
        self._store.add_claim_event(
            review.disbursement_id,
            ClaimEvent(at=self._clock.now(), kind="review_viewed", actor=actor,
                       details={"review_id": review_id}),
        )  # fmt: skip
        return review, bytes(selfie), reference

    def decide(
        self, review_id: str, *, approve: bool, subject: str, actor: str, reason: str
    ) -> Review:
        """The reviewer's decision; never by the person who proposed the payout. The selfie is
        deleted as the decision is recorded."""
        review = self._pending(review_id)
        if subject == review.proposed_by:
            raise SameReviewer("the person who proposed the payout cannot review its face check")
        now = self._clock.now()
        decided = replace(
            review, state=APPROVED if approve else REFUSED, photo_key=None, decided_by=subject,
            decided_by_actor=actor, decided_at=now, reason=reason,
        )  # fmt: skip
        event = ClaimEvent(at=now, kind="review_decision", actor=actor,
                           details={"review_id": review_id, "approved": approve,
                                    "reason": reason, "reviewer": subject})  # fmt: skip
        try:
            self._store.save_review(review, decided, event)
        except Contended as error:
            raise ReviewRefused("the review was decided or expired meanwhile") from error
        if review.photo_key:
            self._s3.delete_object(Bucket=self._bucket, Key=review.photo_key)
        return decided

    def collect(self, binding: Binding) -> Collected:
        """The creditor's page asks how its review stands. An approval issues the grant now, once,
        recorded as a decision whose check is the reviewer's."""
        review = self._store.claim_review(binding.disbursement_id)
        if review is None:
            raise ReviewRefused("no review was asked for this payout")
        if review.state != APPROVED:
            return Collected(state=review.state)
        if review.binding != binding:
            raise ReviewRefused("the payout changed after the review; take a new photo")
        now = self._clock.now()
        granted = replace(review, state=GRANTED)
        event = ClaimEvent(at=now, kind="review_collected", actor="creditor",
                           details={"review_id": review.review_id})  # fmt: skip
        try:
            self._store.save_review(review, granted, event)
        except Contended as error:
            raise ReviewRefused("the review's grant was collected already") from error
        decision = FaceDecision(
            outcome=Outcome.MATCH, verifier="human", model_version="human review",
            checks=(f"human review by {review.decided_by}",), scores={}, thresholds={},
        )  # fmt: skip
        result = self._checks.record_decision(
            binding, decision, court=review.court, actor=review.decided_by_actor or "reviewer"
        )
        return Collected(state=GRANTED, result=result)

    def purge(self) -> int:
        """The hourly purge: delete the selfies of reviews past their retention, undecided."""
        now = self._clock.now()
        purged = 0
        for review in self._store.open_reviews(expiring_before=now):
            if review.state != PENDING:
                continue
            expired = replace(review, state=EXPIRED, photo_key=None)
            event = ClaimEvent(at=now, kind="review_expired", actor="system",
                               details={"review_id": review.review_id})  # fmt: skip
            try:
                self._store.save_review(review, expired, event)
            except Contended:
                continue  # decided meanwhile: the decision deleted the selfie
            if review.photo_key:
                self._s3.delete_object(Bucket=self._bucket, Key=review.photo_key)
            purged += 1
        return purged

    def _pending(self, review_id: str) -> Review:
        review = self._store.review(review_id)
        if review is None:
            raise ReviewNotFound("no such review")
        if review.state != PENDING:
            raise ReviewRefused(f"the review is {review.state}, not waiting for a decision")
        if review.expires_at <= self._clock.now():
            raise ReviewRefused("the review's retention has run out; the selfie is being deleted")
        return review
