"""Human review of a refused face check: the selfie kept encrypted for a few hours, a reviewer of
the court who did not propose the payout sees both photos and decides, an approval lets the
creditor collect a grant that releases the payout, and the selfie is gone on decision or expiry."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from tests.identity.test_face_api import JSON, Face, _check, _post, tight  # noqa: F401
from tests.payouts.conftest import World

BUCKET = "courtfunds-test-reference-photos"


def _review_objects(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="review/")
    return [o["Key"] for o in listed.get("Contents", [])]


def _refused_then_review(api: Any, claim: dict[str, Any], face: Face) -> Any:
    refused = json.loads(_check(api, claim["code"], face("biden.jpg")).body)
    assert refused["outcome"] == "no_match"
    photo = base64.b64encode(face("biden.jpg")).decode()
    return _post(api, "/claims/face-review", {"code": claim["code"], "photo": photo})


def _queue(api: Any, token: Any) -> list[dict[str, Any]]:
    answer = api.get(
        "/identity/face-reviews?court=粤0604", headers=token("clerk", subject="clerk-2")
    )
    return list(json.loads(answer.body)["reviews"])


def _decide(api: Any, token: Any, review_id: str, subject: str, *, approve: bool) -> Any:
    return _post(
        api,
        f"/identity/face-reviews/{review_id}/decision",
        {"approve": approve, "reason": "与身份证原件及到庭核对一致" if approve else "不是本人"},
        headers={**token("clerk", subject=subject), **JSON},
    )


def _status(api: Any, code: str) -> dict[str, Any]:
    return dict(json.loads(_post(api, "/claims/face-review/status", {"code": code}).body))


def test_an_approved_review_issues_a_grant_that_pays(
    api: Any, token: Any, world: World, *, claim: dict[str, Any], face: Face, buckets: Any
) -> None:
    asked = _refused_then_review(api, claim, face)
    assert asked.status_code == 202, asked.body
    [key] = _review_objects(buckets)
    head = buckets.head_object(Bucket=BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert _status(api, claim["code"])["state"] == "pending"
    [review] = _queue(api, token)

    # the clerk who proposed the payout may neither decide it
    same = _decide(api, token, review["review_id"], "clerk-1", approve=True)
    assert same.status_code == 403
    assert json.loads(same.body)["type"].endswith("identity/same-person")
    hidden = api.get(
        f"/identity/face-reviews/{review['review_id']}", headers=token("clerk", subject="clerk-1")
    )
    assert hidden.status_code == 403
    # another reviewer sees both photos, then approves
    shown = api.get(
        f"/identity/face-reviews/{review['review_id']}", headers=token("clerk", subject="clerk-2")
    )
    photos = json.loads(shown.body)
    assert base64.b64decode(photos["selfie"]) == face("biden.jpg")
    assert base64.b64decode(photos["reference"]) == face("obama.jpg")
    decided = _decide(api, token, review["review_id"], "clerk-2", approve=True)
    assert decided.status_code == 200, decided.body
    assert _review_objects(buckets) == []  # the selfie is gone with the decision

    collected = _status(api, claim["code"])
    assert (collected["state"], collected["outcome"]) == ("granted", "match")
    released = _post(api, "/claims/release", {"code": claim["code"], "grant": collected["grant"]})
    assert released.status_code == 200, released.body
    assert world.rail.calls.count("send") == 1
    assert _post(api, "/claims/face-review/status", {"code": claim["code"]}).status_code >= 400

    trail = api.get(f"/identity/claims/{claim['disbursement_id']}", headers=token("auditor"))
    kinds = [e["kind"] for e in json.loads(trail.body)["trail"]]
    assert kinds.count("decision") == 2
    assert {"review_requested", "review_viewed", "review_decision"} <= set(kinds)
    decision = [e for e in json.loads(trail.body)["trail"] if e["kind"] == "decision"][-1]
    assert decision["details"]["checks"] == ["human review by clerk-2"]
    assert decision["details"]["outcome"] == "match"
    assert decision["details"]["grant_id"]


def test_a_refused_review_deletes_the_selfie_and_grants_nothing(
    api: Any, token: Any, world: World, *, claim: dict[str, Any], face: Face, buckets: Any
) -> None:
    assert _refused_then_review(api, claim, face).status_code == 202
    [review] = _queue(api, token)
    assert _decide(api, token, review["review_id"], "clerk-2", approve=False).status_code == 200
    assert _review_objects(buckets) == []
    assert _status(api, claim["code"]) == {"state": "refused", "grant": None}
    assert _queue(api, token) == []
    assert world.rail.calls == []


def test_an_undecided_selfie_is_deleted_when_its_retention_runs_out(
    api: Any, token: Any, claim: dict[str, Any], *, face: Face, buckets: Any, clock: FixedClock
) -> None:
    assert _refused_then_review(api, claim, face).status_code == 202
    [review] = _queue(api, token)
    clock.advance(timedelta(hours=23))
    assert wiring.face_reviews().purge() == 0
    assert len(_review_objects(buckets)) == 1
    clock.advance(timedelta(hours=1, seconds=1))
    assert wiring.face_reviews().purge() == 1
    assert _review_objects(buckets) == []
    late = _decide(api, token, review["review_id"], "clerk-2", approve=True)
    assert late.status_code == 409
    assert _status(api, claim["code"])["state"] == "expired"


def test_a_review_needs_a_refused_check_and_a_valid_code(
    api: Any, world: World, claim: dict[str, Any], face: Face, buckets: Any
) -> None:
    photo = base64.b64encode(face("biden.jpg")).decode()
    wrong = _post(api, "/claims/face-review", {"code": "D" * 43, "photo": photo})
    assert wrong.status_code == 404
    unchecked = _post(api, "/claims/face-review", {"code": claim["code"], "photo": photo})
    assert unchecked.status_code == 409  # no face check was refused yet
    assert _review_objects(buckets) == []


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_only_reviewers_see_the_queue(api: Any, token: Any, role: str, claim: Any) -> None:
    answer = api.get("/identity/face-reviews?court=粤0604", headers=token(role))
    assert answer.status_code == 403


def test_following_a_review_does_not_spend_the_codes_face_checks(
    tight: None,  # noqa: F811 - two face checks per code per window
    api: Any,
    claim: dict[str, Any],
    face: Face,
) -> None:
    assert _refused_then_review(api, claim, face).status_code == 202
    for _ in range(4):  # the page asks every 10 seconds
        assert _status(api, claim["code"])["state"] == "pending"


def test_another_courts_staff_see_no_review_and_an_overseer_cannot_act(
    api: Any, token: Any, world: World, *, claim: dict[str, Any], face: Face, buckets: Any
) -> None:
    """A review belongs to its payout's court: staff of another court get 404 for it as for no
    review, and nothing is recorded; a higher court overseeing it may neither look nor decide."""
    assert _refused_then_review(api, claim, face).status_code == 202
    [review] = _queue(api, token)
    trail_before = api.get(f"/identity/claims/{claim['disbursement_id']}", headers=token("auditor"))
    stranger = token("clerk", subject="clerk-elsewhere", courts=("粤0605",))
    missing = api.get("/identity/face-reviews/no-such-review", headers=stranger)
    for answer in (
        api.get(f"/identity/face-reviews/{review['review_id']}", headers=stranger),
        _post(
            api,
            f"/identity/face-reviews/{review['review_id']}/decision",
            {"approve": True, "reason": "核对一致"},
            headers={**stranger, **JSON},
        ),
    ):
        assert answer.status_code == 404
        assert json.loads(answer.body)["type"] == json.loads(missing.body)["type"]
        assert "selfie" not in json.loads(answer.body)
    queue = api.get("/identity/face-reviews?court=粤0604", headers=stranger)
    assert queue.status_code == 403
    overseer = token("clerk", subject="leader-1", courts=("粤06",), oversees=("粤06",))
    looked = api.get(f"/identity/face-reviews/{review['review_id']}", headers=overseer)
    assert looked.status_code == 403
    assert json.loads(looked.body)["type"].endswith("identity/court-not-yours")
    trail_after = api.get(f"/identity/claims/{claim['disbursement_id']}", headers=token("auditor"))
    assert json.loads(trail_after.body)["trail"] == json.loads(trail_before.body)["trail"]
    assert len(_review_objects(buckets)) == 1  # still waiting for its own court's reviewer
    assert _queue(api, token)[0]["state"] == "pending"
