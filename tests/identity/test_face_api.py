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
from chalicelib.payouts.face_grants import PayoutFaceGrants
from chalicelib.payouts.sending import PayoutSender
from chalicelib.wiring import disbursement_workflow, face_checks, ledger_service
from tests.payouts.conftest import APPROVER, CLERK, World

Face = Callable[[str], bytes]
JSON = {"Content-Type": "application/json"}


def _post(api: Any, path: str, body: dict[str, Any], headers: dict[str, str] = JSON) -> Any:
    return api.post(path, body=json.dumps(body).encode(), headers=headers)


@pytest.fixture
def claim(world: World, buckets: Any, api: Any, token: Any, face: Face) -> dict[str, Any]:
    """An approved payout of 3,000.00 yuan with its claim code, the creditor's photo on file,
    and the real face grants in place of the payout tests' stand-in."""
    grants = PayoutFaceGrants(face_checks)
    sender = PayoutSender(
        disbursement_workflow(), rail=wiring.payout_rail, ledger=ledger_service(), grants=grants,
        clock=wiring.clock(), settings=wiring.settings(),
    )  # fmt: skip
    wiring.override(face_grants=grants, payout_sender=sender)
    headers = {**token("clerk"), "Content-Type": "image/jpeg"}
    path = f"/identity/reference-photos/{world.case.case_id}/{world.creditor_id}"
    assert api.put(path, body=face("obama.jpg"), headers=headers).status_code == 201
    body = ProposeDisbursement.model_validate(
        {"creditor_party_id": world.creditor_id, "amount": 300_000, "note": "无争议部分"}
    )
    d = world.workflow.propose(world.case.case_id, body, by=CLERK)
    world.workflow.approve(d.disbursement_id, by=APPROVER)
    [code] = world.claim_codes()
    return {"code": code, "disbursement_id": d.disbursement_id}


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
    assert decision["details"]["thresholds"] == {"distance": 0.5}
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
    world.workflow.approve(other.disbursement_id, by=APPROVER)
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
    world.workflow.approve(d.disbursement_id, by=APPROVER)
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
