"""Reference photos of creditors: checked on enrolment, kept in S3 encrypted and never public,
and purged once the case has been concluded for the configured retention period."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.identity.errors import NoReferencePhoto, PhotoRefused, ReferencePhotoChanged
from chalicelib.identity.face_decisions import ADVICE
from chalicelib.identity.face_records import FaceStore, ReferenceRecord, Upload

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.clock import Clock
    from chalicelib.identity.face_interface import FaceVerifier

    # case_id -> when it was concluded, or None while it is not
    ConcludedAt = Callable[[str], datetime | None]

PAGE = 100
UPLOAD_GRACE = timedelta(hours=1)  # far beyond one enrolment's few seconds


def photo_media_type(image: bytes) -> str:
    if image[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if image[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    raise PhotoRefused(ADVICE_TEXT["not_an_image"], reason="not_an_image")


ADVICE_TEXT = {refusal.value: english for refusal, (_zh, english) in ADVICE.items()}


@dataclass(frozen=True)
class PurgeReport:
    examined: int
    purged: int
    uploads_finished: int = 0


class ReferencePhotos:
    def __init__(
        self,
        *,
        s3: Any,
        bucket: str,
        store: FaceStore,
        verifier: Callable[[], FaceVerifier],
        clock: Clock,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._store = store
        self._verifier = verifier  # built on first use: the dlib models take a second to load
        self._clock = clock

    def enrol(self, case_id: str, party_id: str, image: bytes, *, actor: str) -> ReferenceRecord:
        """Check the photo (exactly one face, large, sharp and lit enough, wholly in the frame)
        and keep it; a refused photo stores nothing. A new photo replaces the one on file."""
        media_type = photo_media_type(image)
        verdict = self._verifier().inspect(image)
        if verdict.refusal is not None:
            raise PhotoRefused(
                ADVICE_TEXT[verdict.refusal.value],
                reason=verdict.refusal.value,
                checks=list(verdict.checks),
            )
        previous = self._store.reference(case_id, party_id)
        key = f"reference/{case_id}/{uuid.uuid4().hex}"  # no name or ID number in the key
        replaces = None if previous is None or previous.purged_at else previous.key
        upload = Upload(case_id, party_id, key, replaces, at=self._clock.now())
        self._store.open_upload(upload)
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=image,
            ContentType=media_type,
            ServerSideEncryption="aws:kms",
        )
        record = ReferenceRecord(
            case_id=case_id,
            party_id=party_id,
            key=key,
            enrolled_at=self._clock.now(),
            enrolled_by=actor,
            scores=dict(verdict.scores),
        )
        if not self._store.put_reference(record, replacing=previous):
            self._s3.delete_object(Bucket=self._bucket, Key=key)  # nothing of ours stays behind
            self._store.close_upload(key)
            raise ReferencePhotoChanged(
                "another photo of this creditor was enrolled at the same moment; look at the "
                "photo on file and enrol again if needed"
            )
        if replaces is not None:
            self._s3.delete_object(Bucket=self._bucket, Key=replaces)
        self._store.close_upload(key)
        return record

    def finish_uploads(self) -> int:
        """Uploads an enrolment left open longer than ``UPLOAD_GRACE`` (it died between its
        steps): the photo goes if no record points at it; if one does, the photo it replaced
        goes. Deleting an object twice is harmless, so a purge that dies here repeats it."""
        cleared = 0
        before = self._clock.now() - UPLOAD_GRACE
        while page := self._store.open_uploads(before=before, limit=PAGE):
            for upload in page:
                record = self._store.reference(upload.case_id, upload.party_id)
                on_file = None if record is None or record.purged_at else record.key
                # Only the photo on file is kept: the upload's own photo if its record still
                # names it, and the photo it replaced in any case (a later enrolment may have
                # replaced the upload's photo in turn, deleting only that one).
                for key in (upload.key, upload.replaces):
                    if key is not None and key != on_file:
                        self._s3.delete_object(Bucket=self._bucket, Key=key)
                self._store.close_upload(upload.key)
                cleared += 1
        return cleared

    def photo(self, case_id: str, party_id: str) -> bytes:
        return self.on_file(case_id, party_id)[1]

    def on_file(self, case_id: str, party_id: str) -> tuple[ReferenceRecord, bytes]:
        """The photo on file and its record (who enrolled it, when), for a decision to name."""
        record = self._store.reference(case_id, party_id)
        if record is None or record.purged_at is not None:
            raise NoReferencePhoto(
                "no reference photo is on file for this creditor; the case officer enrols one"
            )
        answer = self._s3.get_object(Bucket=self._bucket, Key=record.key)
        return record, bytes(answer["Body"].read())

    def purge(self, concluded_at: ConcludedAt, *, retention_days: int) -> PurgeReport:
        """The scheduled purge: delete every reference photo whose case was concluded more than
        ``retention_days`` ago; the record stays, saying when the photo was deleted. Uploads
        an enrolment left half-done are finished first."""
        finished = self.finish_uploads()
        now = self._clock.now()
        keep_for = timedelta(days=retention_days)
        examined = purged = 0
        after: str | None = None
        concluded: dict[str, datetime | None] = {}
        while True:
            page = self._store.live_references(after=after, limit=PAGE)
            for record in page:
                examined += 1
                if record.case_id not in concluded:
                    concluded[record.case_id] = concluded_at(record.case_id)
                when = concluded[record.case_id]
                if when is None or when + keep_for > now:
                    continue
                self._s3.delete_object(Bucket=self._bucket, Key=record.key)
                gone = ReferenceRecord(**{**record.__dict__, "purged_at": now})
                # A photo enrolled since the page was read stands (it deleted this one itself);
                # the next run looks at it.
                if self._store.put_reference(gone, replacing=record):
                    purged += 1
            if len(page) < PAGE:
                return PurgeReport(examined=examined, purged=purged, uploads_finished=finished)
            after = f"{page[-1].case_id}#{page[-1].party_id}"
