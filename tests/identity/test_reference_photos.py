"""Reference photos: checked on enrolment, encrypted in a private bucket, purged after the
retention period once the case is concluded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.identity.errors import NoReferencePhoto, PhotoRefused
from chalicelib.wiring import face_store, reference_photos
from tests.conftest import START

Face = Callable[[str], bytes]
BUCKET = "courtfunds-test-reference-photos"


def _objects(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_the_bucket_is_private_and_encrypted(buckets: Any) -> None:
    block = buckets.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = buckets.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_a_good_photo_is_stored_encrypted_under_no_personal_name(buckets: Any, face: Face) -> None:
    record = reference_photos().enrol("c-1", "p0", face("obama.jpg"), actor="clerk-1")
    assert record.key.startswith("reference/c-1/")
    head = buckets.head_object(Bucket=BUCKET, Key=record.key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert reference_photos().photo("c-1", "p0") == face("obama.jpg")
    assert record.scores["faces"] == 1


@pytest.mark.parametrize(
    ("photo", "reason"),
    [("two_people.jpg", "several_faces"), ("obama_partial_face.jpg", "face_cut")],
)
def test_a_refused_photo_stores_nothing(buckets: Any, face: Face, photo: str, reason: str) -> None:
    with pytest.raises(PhotoRefused) as raised:
        reference_photos().enrol("c-1", "p0", face(photo), actor="clerk-1")
    assert raised.value.extensions["reason"] == reason
    assert _objects(buckets) == []
    assert face_store().reference("c-1", "p0") is None


def test_a_new_photo_replaces_the_old_one(buckets: Any, face: Face) -> None:
    first = reference_photos().enrol("c-1", "p0", face("obama.jpg"), actor="clerk-1")
    second = reference_photos().enrol("c-1", "p0", face("obama2.jpg"), actor="clerk-1")
    assert _objects(buckets) == [second.key]
    assert first.key != second.key


def test_photos_are_purged_after_the_retention_once_concluded(
    buckets: Any, face: Face, clock: FixedClock
) -> None:
    photos = reference_photos()
    photos.enrol("c-open", "p0", face("obama.jpg"), actor="clerk-1")
    photos.enrol("c-recent", "p0", face("obama.jpg"), actor="clerk-1")
    old = photos.enrol("c-done", "p0", face("obama.jpg"), actor="clerk-1")
    concluded: dict[str, datetime | None] = {
        "c-open": None,
        "c-recent": START + timedelta(days=50),
        "c-done": START,
    }
    clock.advance(timedelta(days=91))
    report = photos.purge(concluded.get, retention_days=90)
    assert (report.examined, report.purged) == (3, 1)
    assert old.key not in _objects(buckets)
    assert len(_objects(buckets)) == 2
    with pytest.raises(NoReferencePhoto):
        photos.photo("c-done", "p0")
    assert face_store().reference("c-done", "p0").purged_at == clock.now()  # type: ignore[union-attr]
    assert photos.purge(concluded.get, retention_days=90).examined == 2


class Crash(Exception):
    """The function stops here, as a Lambda timing out would."""


def test_a_photo_uploaded_by_an_enrolment_that_died_before_its_record_is_purged(
    buckets: Any, face: Face, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = face_store()

    def dies(*args: Any, **kwargs: Any) -> bool:
        raise Crash

    monkeypatch.setattr(store, "put_reference", dies)
    with pytest.raises(Crash):
        reference_photos().enrol("c-1", "p0", face("obama.jpg"), actor="clerk-1")
    monkeypatch.undo()
    left = _objects(buckets)
    assert len(left) == 1
    assert store.reference("c-1", "p0") is None
    never: dict[str, datetime | None] = {}
    assert reference_photos().purge(never.get, retention_days=90).uploads_finished == 0
    assert _objects(buckets) == left  # an enrolment may still be on its way: wait
    clock.advance(timedelta(hours=2))
    assert reference_photos().purge(never.get, retention_days=90).uploads_finished == 1
    assert _objects(buckets) == []
    assert reference_photos().purge(never.get, retention_days=90).uploads_finished == 0


def test_a_replaced_photo_left_by_an_enrolment_that_died_after_its_record_is_purged(
    buckets: Any, face: Face, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = reference_photos().enrol("c-1", "p0", face("obama.jpg"), actor="clerk-1")
    s3 = wiring.s3()

    def dies(*args: Any, **kwargs: Any) -> None:
        raise Crash

    monkeypatch.setattr(s3, "delete_object", dies)
    with pytest.raises(Crash):
        reference_photos().enrol("c-1", "p0", face("obama2.jpg"), actor="clerk-1")
    monkeypatch.undo()
    second = face_store().reference("c-1", "p0")
    assert second is not None
    assert second.key != first.key
    assert sorted(_objects(buckets)) == sorted([first.key, second.key])
    clock.advance(timedelta(hours=2))
    never: dict[str, datetime | None] = {}
    assert reference_photos().purge(never.get, retention_days=90).uploads_finished == 1
    assert _objects(buckets) == [second.key]
    assert reference_photos().photo("c-1", "p0") == face("obama2.jpg")


def test_an_enrolment_retried_after_a_crash_leaves_only_the_newest_photo(
    buckets: Any, face: Face, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first replacement died before deleting the photo it replaced; the officer enrolled
    again at once. The purge leaves only the photo on file."""
    reference_photos().enrol("c-1", "p0", face("obama.jpg"), actor="clerk-1")
    s3 = wiring.s3()

    def dies(*args: Any, **kwargs: Any) -> None:
        raise Crash

    monkeypatch.setattr(s3, "delete_object", dies)
    with pytest.raises(Crash):
        reference_photos().enrol("c-1", "p0", face("obama2.jpg"), actor="clerk-1")
    monkeypatch.undo()
    last = reference_photos().enrol("c-1", "p0", face("obama.jpg"), actor="clerk-1")
    clock.advance(timedelta(hours=2))
    never: dict[str, datetime | None] = {}
    assert reference_photos().purge(never.get, retention_days=90).uploads_finished == 1
    assert _objects(buckets) == [last.key]


def test_no_photo_on_file_is_a_clear_404(buckets: Any) -> None:
    with pytest.raises(NoReferencePhoto) as raised:
        reference_photos().photo("c-1", "p9")
    assert raised.value.status == 404
    assert wiring.settings().reference_photos_bucket == BUCKET


def test_the_daily_purge_counts_the_retention_from_the_conclusion_itself(
    api: Any, token: Any, buckets: Any, face: Face, clock: FixedClock
) -> None:
    """A concluded case can still change afterwards (an account change proposed before the
    conclusion is decided after it): the retention runs from the conclusion in the case's
    trail, not from the case's last change."""
    from types import SimpleNamespace

    import app as deployed
    from tests.cases.test_cases_api import open_case, post
    from tests.cases.test_receiving_account import CHANGE, path

    case = open_case(api, token)
    creditor = case["parties"][0]["party_id"]
    enrolled = api.put(
        f"/identity/reference-photos/{case['case_id']}/{creditor}",
        body=face("obama.jpg"),
        headers={**token("clerk"), "Content-Type": "image/jpeg"},
    )
    assert enrolled.status_code == 201, enrolled.body
    assert post(api, path(case), CHANGE, token("clerk")).status_code == 202
    concluded = post(
        api, f"/cases/{case['case_id']}/status",
        {"status": "concluded", "reason": "执行完毕，案款已全部发放"}, token("clerk"),
    )  # fmt: skip
    assert concluded.status_code == 200, concluded.body
    clock.advance(timedelta(days=60))
    for role, subject in (("approver", "chief-1"), ("finance", "finance-1")):
        approved = post(api, path(case, "/approve"), {}, token(role, subject=subject))
        assert approved.status_code == 200, approved.body

    def daily_purge() -> Any:  # as the scheduled function runs
        event = {"version": "0", "id": "e-1", "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": "1", "time": clock.now().isoformat(),
                 "region": "us-east-1", "resources": [], "detail": {}}  # fmt: skip
        return deployed.purge_reference_photos(event, SimpleNamespace(aws_request_id="r-1"))

    clock.advance(timedelta(days=29))  # 89 days after the conclusion: kept
    assert daily_purge() == {"examined": 1, "purged": 0, "uploads_finished": 0}
    clock.advance(timedelta(days=2))  # 91 days after the conclusion, 31 after the last change
    assert daily_purge() == {"examined": 1, "purged": 1, "uploads_finished": 0}
    assert _objects(buckets) == []


def test_two_enrolments_at_once_leave_one_photo_and_its_record(
    buckets: Any, face: Face, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second enrolment reads the record, and before it writes its own, another clerk's
    enrolment lands: one of the two must lose, and leave no photo behind that no record
    points at (it would never be deleted)."""
    from chalicelib.identity.errors import ReferencePhotoChanged

    photos = reference_photos()
    photos.enrol("c-1", "p0", face("obama.jpg"), actor="clerk-1")
    store = face_store()
    read = store.reference

    def read_then_another_enrols(case_id: str, party_id: str) -> Any:
        seen = read(case_id, party_id)
        monkeypatch.setattr(store, "reference", read)
        photos.enrol(case_id, party_id, face("obama2.jpg"), actor="clerk-2")
        return seen

    monkeypatch.setattr(store, "reference", read_then_another_enrols)
    with pytest.raises(ReferencePhotoChanged):
        photos.enrol("c-1", "p0", face("obama3.jpg"), actor="clerk-1")
    on_file = face_store().reference("c-1", "p0")
    assert on_file is not None
    assert (on_file.enrolled_by, _objects(buckets)) == ("clerk-2", [on_file.key])


def test_a_purge_racing_a_new_enrolment_leaves_the_new_photo_on_file(
    buckets: Any, face: Face, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = reference_photos()
    photos.enrol("c-done", "p0", face("obama.jpg"), actor="clerk-1")
    clock.advance(timedelta(days=91))
    store = face_store()
    listed = store.live_references

    def listed_then_enrolled(**arguments: Any) -> Any:
        page = listed(**arguments)
        monkeypatch.setattr(store, "live_references", listed)
        photos.enrol("c-done", "p0", face("obama2.jpg"), actor="clerk-2")
        return page

    monkeypatch.setattr(store, "live_references", listed_then_enrolled)
    report = photos.purge({"c-done": START}.get, retention_days=90)
    assert report.purged == 0
    on_file = face_store().reference("c-done", "p0")
    assert on_file is not None
    assert on_file.purged_at is None
    assert _objects(buckets) == [on_file.key]
