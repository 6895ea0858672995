"""The face check through the API: the case officer enrols the creditor's reference photo, the
claim page sends selfies with the claim code, a match answers with a grant that releases exactly
that payout once, and a wrong face releases nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.payouts.bodies import ProposeDisbursement
from tests.payouts.conftest import CLERK, World, approve_all

Face = Callable[[str], bytes]
JSON = {"Content-Type": "application/json"}


def _post(api: Any, path: str, body: dict[str, Any], headers: dict[str, str] = JSON) -> Any:
    return api.post(path, body=json.dumps(body).encode(), headers=headers)


def _check(api: Any, code: str, photo: bytes) -> Any:
    return _post(
        api, "/claims/face-check", {"code": code, "photo": base64.b64encode(photo).decode()}
    )


def test_the_right_face_releases_the_payout_once(
    api: Any, world: World, claim: dict[str, Any], face: Face
) -> None:
    answer = _check(api, claim["code"], face("obama2.jpg"))
    assert answer.status_code == 200, answer.body
    result = json.loads(answer.body)
    assert result["outcome"] == "match"
    assert result["liveness"] == "not_checked"
    released = _post(api, "/claims/release", {"code": claim["code"], "grant": result["grant"]})
    assert released.status_code == 200, released.body
    assert world.rail.calls.count("send") == 1
    again = _post(api, "/claims/release", {"code": claim["code"], "grant": result["grant"]})
    assert again.status_code >= 400
    assert world.rail.calls.count("send") == 1


def test_the_wrong_face_gets_no_grant_and_releases_nothing(
    api: Any, token: Any, world: World, claim: dict[str, Any], face: Face
) -> None:
    result = json.loads(_check(api, claim["code"], face("biden.jpg")).body)
    assert result["outcome"] == "no_match"
    assert result["grant"] is None
    assert result["attempts_left"] == 4
    forged = _post(api, "/claims/release", {"code": claim["code"], "grant": "g1.e30.AAAA"})
    assert forged.status_code == 403
    assert world.rail.calls == []
    trail = api.get(f"/identity/claims/{claim['disbursement_id']}", headers=token("auditor"))
    [decision] = json.loads(trail.body)["trail"]
    assert decision["details"]["outcome"] == "no_match"
    assert decision["details"]["scores"]["distance"] > 0.5
    thresholds = decision["details"]["thresholds"]
    assert (thresholds["distance"], thresholds["min_brightness"]) == (0.5, 25)
    # the photo on file it was compared with: who enrolled it, when
    assert decision["details"]["reference"]["enrolled_by"] == "clerk-1"
    assert "photo" not in trail.body.decode()


def test_two_faces_and_a_partial_face_are_refused_with_advice(
    api: Any, claim: dict[str, Any], face: Face
) -> None:
    two = json.loads(_check(api, claim["code"], face("two_people.jpg")).body)
    assert (two["outcome"], two["reason"]) == ("refused", "several_faces")
    assert two["advice"] == {"zh": "画面中只能有您一人", "en": "only you in the picture"}
    partial = json.loads(_check(api, claim["code"], face("obama_partial_face.jpg")).body)
    assert (partial["outcome"], partial["reason"]) == ("refused", "face_cut")
    assert partial["attempts_left"] == 5  # a photo refused for its quality is no failure


def test_a_grant_for_another_payout_releases_nothing(
    api: Any, world: World, claim: dict[str, Any], face: Face
) -> None:
    """The grant of one creditor's payout cannot release another payout of the same case."""
    result = json.loads(_check(api, claim["code"], face("obama2.jpg")).body)
    body = ProposeDisbursement.model_validate(
        {"creditor_party_id": world.creditor_id, "amount": 100_000, "note": "第二笔"}
    )
    other = world.workflow.propose(world.case.case_id, body, by=CLERK)
    approve_all(world.workflow, other)
    other_code = world.claim_codes()[-1]
    refused = _post(api, "/claims/release", {"code": other_code, "grant": result["grant"]})
    assert refused.status_code == 403
    assert "disbursement_id" in json.loads(refused.body)["detail"]
    assert world.rail.calls == []


def test_a_reference_photo_with_two_faces_is_refused_at_enrolment(
    api: Any, token: Any, world: World, buckets: Any, face: Face
) -> None:
    headers = {**token("clerk"), "Content-Type": "image/jpeg"}
    path = f"/identity/reference-photos/{world.case.case_id}/{world.creditor_id}"
    answer = api.put(path, body=face("two_people.jpg"), headers=headers)
    assert answer.status_code == 422
    problem = json.loads(answer.body)
    assert problem["type"].endswith("identity/photo-refused")
    assert problem["reason"] == "several_faces"
    assert problem["detail"] == "only you in the picture"


def test_without_a_reference_photo_the_check_says_so(
    api: Any, world: World, buckets: Any, face: Face
) -> None:
    body = ProposeDisbursement.model_validate(
        {"creditor_party_id": world.creditor_id, "amount": 100_000, "note": "无照片"}
    )
    d = world.workflow.propose(world.case.case_id, body, by=CLERK)
    approve_all(world.workflow, d)
    [code] = world.claim_codes()
    answer = _check(api, code, face("obama.jpg"))
    assert answer.status_code == 404
    assert json.loads(answer.body)["type"].endswith("identity/no-reference-photo")


def test_a_debtor_cannot_be_enrolled_as_a_creditor(
    api: Any, token: Any, world: World, buckets: Any, face: Face
) -> None:
    debtor = next(p.party_id for p in world.case.parties if p.role.value == "debtor")
    headers = {**token("clerk"), "Content-Type": "image/jpeg"}
    path = f"/identity/reference-photos/{world.case.case_id}/{debtor}"
    assert api.put(path, body=face("obama.jpg"), headers=headers).status_code == 404


def _identity_items() -> list[dict[str, Any]]:
    """Every claim, decision and grant item face checks wrote (reference photos and their
    uploads, written when the photo was enrolled, left out)."""
    items = wiring.dynamodb().scan(TableName=wiring.settings().identity_table)["Items"]
    return [i for i in items if not i["pk"]["S"].startswith(("REF#", "UPLOAD#"))]


def test_a_request_without_a_valid_code_stores_nothing_and_spends_no_attempt(
    api: Any, world: World, claim: dict[str, Any], face: Face
) -> None:
    selfie = base64.b64encode(face("biden.jpg")).decode()
    wrong = _post(api, "/claims/face-check", {"code": "A" * 43, "photo": selfie})
    assert wrong.status_code == 404
    assert json.loads(wrong.body)["type"].endswith("payouts/claim-not-found")
    # the payout cannot be named in the body instead of the code
    named = _post(
        api,
        "/claims/face-check",
        {
            "disbursement_id": claim["disbursement_id"],
            "case_id": world.case.case_id,
            "creditor_party_id": world.creditor_id,
            "amount": 300_000,
            "photo": selfie,
        },
    )
    assert named.status_code == 422
    assert _identity_items() == []
    # the creditor still has all five attempts
    first = json.loads(_check(api, claim["code"], face("biden.jpg")).body)
    assert (first["outcome"], first["attempts_left"]) == ("no_match", 4)


def test_the_ungated_face_check_route_is_gone(
    api: Any, world: World, claim: dict[str, Any]
) -> None:
    body = {
        "disbursement_id": claim["disbursement_id"],
        "case_id": world.case.case_id,
        "creditor_party_id": world.creditor_id,
        "amount": 300_000,
        "photo": "A" * 200,
    }
    answer = _post(api, "/identity/face-checks", body)
    assert answer.status_code in (403, 404)  # no such route: API Gateway's and chalice's answer
    assert _identity_items() == []


@pytest.fixture
def tight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small limits, switched on: two wrong codes per client, two checks per code, and three
    face-check calls per client per window."""
    monkeypatch.setenv("RATE_LIMITS_ON", "true")
    monkeypatch.setenv("CLAIM_FAILURES_ALLOWED", "2")
    monkeypatch.setenv("FACE_CHECKS_PER_CODE_PER_WINDOW", "2")
    monkeypatch.setenv("PUBLIC_FACE_CHECKS_PER_WINDOW", "3")


def test_wrong_codes_are_limited_per_client(
    tight: None, api: Any, claim: dict[str, Any], face: Face
) -> None:
    for _ in range(2):
        assert _check(api, "B" * 43, b"not a photo" * 20).status_code == 404
    locked_out = _check(api, claim["code"], face("obama2.jpg"))
    assert locked_out.status_code == 429  # even the right code, from this client, for a while
    assert _identity_items() == []


def test_a_valid_code_is_limited_per_window_whatever_the_outcome(
    tight: None, api: Any, claim: dict[str, Any], clock: Any
) -> None:
    for _ in range(2):
        refused = json.loads(_check(api, claim["code"], b"not a photo" * 20).body)
        assert (refused["outcome"], refused["attempts_left"]) == ("refused", 5)
    limited = _check(api, claim["code"], b"not a photo" * 20)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    decisions = [i for i in _identity_items() if i["sk"]["S"].startswith("AT#")]
    assert len(decisions) == 2  # the limited call was not looked at


def test_face_checks_are_limited_per_client_address(
    tight: None, api: Any, world: World, claim: dict[str, Any]
) -> None:
    """Three calls per client per window, before any code is looked at."""
    answers = [_check(api, claim["code"], b"not a photo" * 20).status_code for _ in range(2)]
    answers.append(_check(api, "C" * 43, b"not a photo" * 20).status_code)
    answers.append(_check(api, claim["code"], b"not a photo" * 20).status_code)
    assert answers == [200, 200, 404, 429]
