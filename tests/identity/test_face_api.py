"""The face check through the API: the case officer enrols the creditor's reference photo, the
creditor's phone sends selfies, a match answers with a grant, failures lock the claim."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.identity.grants import Binding, destination_digest
from chalicelib.wiring import face_checks
from tests.cases.test_cases_api import open_case

Face = Callable[[str], bytes]


@pytest.fixture
def case(api: Any, token: Any, buckets: Any) -> dict[str, Any]:
    return open_case(api, token)


def _enrol(api: Any, token: Any, case: dict[str, Any], photo: bytes, role: str = "clerk") -> Any:
    headers = {**token(role), "Content-Type": "image/jpeg"}
    path = f"/identity/reference-photos/{case['case_id']}/p1"
    return api.put(path, body=photo, headers=headers)


def _check(api: Any, case: dict[str, Any], photo: bytes, amount: int = 500_000) -> Any:
    body = {
        "disbursement_id": "d-1",
        "case_id": case["case_id"],
        "creditor_party_id": "p1",
        "amount": amount,
        "photo": base64.b64encode(photo).decode(),
    }
    return api.post(
        "/identity/face-checks",
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


def test_the_right_face_gets_a_grant_for_this_payout(
    api: Any, token: Any, case: dict[str, Any], face: Face
) -> None:
    assert _enrol(api, token, case, face("obama.jpg")).status_code == 201
    answer = _check(api, case, face("obama2.jpg"))
    assert answer.status_code == 200, answer.body
    result = json.loads(answer.body)
    assert result["outcome"] == "match"
    assert result["liveness"] == "not_checked"
    binding = Binding(
        disbursement_id="d-1",
        attempt=1,
        case_id=case["case_id"],
        creditor_party_id="p1",
        amount_fen=500_000,
        currency="CNY",
        destination=destination_digest("6222020200112233445"),
    )
    assert face_checks().redeem(result["grant"], binding, used_for="release r-1")


def test_the_wrong_face_gets_no_grant_and_counts_down(
    api: Any, token: Any, case: dict[str, Any], face: Face
) -> None:
    _enrol(api, token, case, face("obama.jpg"))
    result = json.loads(_check(api, case, face("biden.jpg")).body)
    assert result["outcome"] == "no_match"
    assert result["grant"] is None
    assert result["attempts_left"] == 4
    trail = json.loads(api.get("/identity/claims/d-1", headers=token("auditor")).body)["trail"]
    assert trail[0]["details"]["outcome"] == "no_match"
    assert trail[0]["details"]["scores"]["distance"] > 0.5
    assert "photo" not in json.dumps(trail)


def test_two_faces_are_refused_with_advice(
    api: Any, token: Any, case: dict[str, Any], face: Face
) -> None:
    _enrol(api, token, case, face("obama.jpg"))
    result = json.loads(_check(api, case, face("two_people.jpg")).body)
    assert result["outcome"] == "refused"
    assert result["reason"] == "several_faces"
    assert result["advice"] == {"zh": "画面中只能有您一人", "en": "only you in the picture"}


def test_a_reference_photo_with_two_faces_is_refused_at_enrolment(
    api: Any, token: Any, case: dict[str, Any], face: Face
) -> None:
    answer = _enrol(api, token, case, face("two_people.jpg"))
    assert answer.status_code == 422
    problem = json.loads(answer.body)
    assert problem["type"].endswith("identity/photo-refused")
    assert problem["reason"] == "several_faces"
    assert problem["detail"] == "only you in the picture"


def test_without_a_reference_photo_the_check_says_so(
    api: Any, case: dict[str, Any], face: Face
) -> None:
    answer = _check(api, case, face("obama.jpg"))
    assert answer.status_code == 404
    assert json.loads(answer.body)["type"].endswith("identity/no-reference-photo")


def test_a_debtor_cannot_be_enrolled_as_a_creditor(
    api: Any, token: Any, case: dict[str, Any], face: Face
) -> None:
    headers = {**token("clerk"), "Content-Type": "image/jpeg"}
    path = f"/identity/reference-photos/{case['case_id']}/p2"
    assert api.put(path, body=face("obama.jpg"), headers=headers).status_code == 404
