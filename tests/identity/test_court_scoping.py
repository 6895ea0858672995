"""Staff act only in the courts they belong to: another court's case is answered as a missing
one (404, never its data), a higher court reads the courts it oversees and changes nothing there."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.cases import identifiers
from chalicelib.courts import court_of_account
from chalicelib.identity import CourtNotYours, Principal, Role
from chalicelib.problems import NotFound
from tests.cases.factories import filing

OTHER = ("粤0605",)  # another basic court under the same intermediate court


def post(api: Any, path: str, body: Any, headers: dict[str, str]) -> Any:
    return api.post(path, body=json.dumps(body, ensure_ascii=False).encode(), headers=headers)


@pytest.fixture
def case(api: Any, token: Any) -> dict[str, Any]:
    answer = post(api, "/cases", filing(), token("clerk"))
    assert answer.status_code == 201, answer.body
    return dict(json.loads(answer.body))


def test_a_clerk_of_another_court_gets_404_and_never_the_data(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    stranger = token("clerk", subject="clerk-elsewhere", courts=OTHER)
    missing = api.get("/cases/no-such-case", headers=stranger)
    number = case["account_number"]
    for path in (
        f"/cases/{case['case_id']}",
        f"/cases/{case['case_id']}/history",
        f"/cases/{case['case_id']}/balances",
        f"/cases/{case['case_id']}/payments",
        f"/case-accounts/{number}",
    ):
        answer = api.get(path, headers=stranger)
        assert answer.status_code == 404, (path, answer.body)
        assert case["case_number"] not in answer.body.decode()
        assert "张三" not in answer.body.decode()
        assert json.loads(answer.body)["type"] == json.loads(missing.body)["type"]
    # the same routes answer the case's own court
    assert api.get(f"/cases/{case['case_id']}", headers=token("clerk")).status_code == 200


def test_a_clerk_of_another_court_cannot_suspend_or_file_there(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    stranger = token("clerk", subject="clerk-elsewhere", courts=OTHER)
    suspend = {"status": "suspended", "reason": "debtor untraceable"}
    answer = post(api, f"/cases/{case['case_id']}/status", suspend, stranger)
    assert answer.status_code == 404
    assert (
        json.loads(api.get(f"/cases/{case['case_id']}", headers=token("clerk")).body)["status"]
        == "open"
    )

    filed = post(api, "/cases", filing(4321), stranger)
    assert filed.status_code == 403
    assert json.loads(filed.body)["type"].endswith("identity/court-not-yours")
    listed = api.get("/cases?court=%E7%B2%A40604", headers=token("clerk"))
    assert len(json.loads(listed.body)["cases"]) == 1  # nothing was filed by the refusal


def test_listing_another_courts_cases_is_refused(api: Any, token: Any, case: Any) -> None:
    stranger = token("auditor", subject="auditor-elsewhere", courts=OTHER)
    answer = api.get("/cases?court=%E7%B2%A40604", headers=stranger)
    assert answer.status_code == 403
    assert case["case_number"] not in answer.body.decode()


def test_staff_with_no_court_see_no_case(api: Any, token: Any, case: dict[str, Any]) -> None:
    nowhere = token("admin", subject="admin-nowhere", courts=())
    assert api.get(f"/cases/{case['case_id']}", headers=nowhere).status_code == 404


def test_a_higher_court_reads_the_courts_it_oversees_and_changes_nothing(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    overseer = token("clerk", subject="intermediate-1", courts=("粤06",), oversees=("粤06",))
    assert api.get(f"/cases/{case['case_id']}", headers=overseer).status_code == 200
    listed = api.get("/cases?court=%E7%B2%A40604", headers=overseer)
    assert [c["case_id"] for c in json.loads(listed.body)["cases"]] == [case["case_id"]]
    suspend = {"status": "suspended", "reason": "reviewed by the intermediate court"}
    answer = post(api, f"/cases/{case['case_id']}/status", suspend, overseer)
    assert answer.status_code == 403
    assert json.loads(answer.body)["type"].endswith("identity/court-not-yours")

    # another province is not under 粤06
    far = token("auditor", subject="auditor-far", courts=("湘01",), oversees=("湘01",))
    assert api.get(f"/cases/{case['case_id']}", headers=far).status_code == 404


def test_ledger_routes_answer_another_courts_account_as_missing(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    number = case["account_number"]
    stranger = token("auditor", subject="auditor-elsewhere", courts=OTHER)
    unknown = api.get("/ledger/accounts/4406052600000018/balance", headers=stranger)
    for path in (
        f"/ledger/accounts/{number}/balance",
        f"/ledger/accounts/{number}/statement?start=2026-01-01T00:00:00Z&end=2027-01-01T00:00:00Z",
        f"/ledger/accounts/{number}/verify",
    ):
        answer = api.get(path, headers=stranger)
        assert answer.status_code == 404, (path, answer.body)
        assert json.loads(answer.body)["type"] == json.loads(unknown.body)["type"]
    own = api.get(f"/ledger/accounts/{number}/balance", headers=token("auditor"))
    assert own.status_code == 200


def test_money_cannot_be_moved_into_another_courts_case(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    stranger = token("clerk", subject="clerk-elsewhere", courts=OTHER)
    cash = {
        "id": "cash-elsewhere",
        "account_id": case["account_number"],
        "amount": 3_000,
        "receipt_no": "GD-1",
        "received_at": "2026-11-02T08:30:00+08:00",
    }
    answer = post(api, "/collection/counter-cash", cash, stranger)
    assert answer.status_code == 404
    assert api.get("/ledger/transfers/cash-elsewhere", headers=token("auditor")).status_code == 404
    correction = {
        "id": "fix-elsewhere",
        "debit_account": "SYS-UNIDENTIFIED-CNY",
        "credit_account": case["account_number"],
        "amount": 100,
        "reason": "misposted",
    }
    assert post(api, "/ledger/corrections", correction, stranger).status_code == 404


def test_principal_courts_and_areas() -> None:
    clerk = Principal("s-1", "A", frozenset({Role.CLERK}), courts=frozenset({"粤0604"}))
    assert clerk.acts_in("粤0604")
    assert clerk.sees("粤0604")
    assert not clerk.sees("粤0605")
    assert not clerk.sees("粤06")
    chief = Principal("s-2", "B", courts=frozenset({"粤06"}), oversees=frozenset({"粤06"}))
    assert chief.sees("粤0604")
    assert chief.sees("粤06")
    assert not chief.acts_in("粤0604")
    assert not chief.sees("湘0604")
    with pytest.raises(CourtNotYours):
        chief.check_court("粤0604", act=True, hidden_as=NotFound("no case"))
    with pytest.raises(NotFound):
        clerk.check_court("粤0605", act=False, hidden_as=NotFound("no case"))


def test_account_numbers_name_their_court() -> None:
    for court in ("粤0604", "粤06", "粤", "京0105"):
        number = identifiers.make_account_number(court, 2026, 17)
        assert court_of_account(number) == court


def test_a_full_width_court_claim_is_the_same_court(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    full_width = token("clerk", subject="clerk-fw", courts=("粤０６０４",))
    assert api.get(f"/cases/{case['case_id']}", headers=full_width).status_code == 200


def test_a_malformed_courts_claim_is_refused(api: Any, signer: Any) -> None:
    value = signer.token("clerk", subject="x", **{"custom:courts": ["粤0604"]})
    answer = api.get("/cases/x", headers={"Authorization": f"Bearer {value}"})
    assert answer.status_code == 401


def test_a_cases_standing_is_hidden_from_another_court(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    stranger = token("finance", subject="finance-elsewhere", courts=OTHER)
    answer = api.get(f"/cases/{case['case_id']}/standing", headers=stranger)
    assert answer.status_code == 404
    assert "123456.00" not in answer.body.decode()
    own = api.get(f"/cases/{case['case_id']}/standing", headers=token("finance"))
    assert own.status_code == 200


def test_national_oversight_reads_every_court_and_changes_none(
    api: Any, token: Any, case: dict[str, Any]
) -> None:
    """``全国`` in the oversight claim is the national view: every court's case readable, the
    journal-wide routes open, and no change anywhere."""
    national = token("auditor", subject="spc-1", courts=(), oversees=("全国",))
    assert api.get(f"/cases/{case['case_id']}", headers=national).status_code == 200
    assert api.get("/cases?court=%E6%B9%9801", headers=national).status_code == 200
    assert api.get("/audit/ledger-check", headers=national).status_code == 200
    clerk = token("clerk", subject="spc-2", courts=(), oversees=("全国",))
    suspend = {"status": "suspended", "reason": "reviewed by the supreme court"}
    answer = post(api, f"/cases/{case['case_id']}/status", suspend, clerk)
    assert answer.status_code == 403
    assert json.loads(answer.body)["type"].endswith("identity/court-not-yours")
    # the marker counts only as a whole: a court code that merely starts alike does not
    partial = token("auditor", subject="x-1", courts=(), oversees=("全",))
    assert api.get(f"/cases/{case['case_id']}", headers=partial).status_code == 404
