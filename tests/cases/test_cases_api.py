"""Court staff open, find, list and change cases through the API (moto behind it)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.cases import identifiers
from tests.cases.factories import CREDITOR_ID, DEBTOR_CREDIT_CODE, filing


def post(api: Any, path: str, body: Any, headers: dict[str, str]) -> Any:
    return api.post(path, body=json.dumps(body, ensure_ascii=False).encode(), headers=headers)


def open_case(api: Any, token: Any, serial: int = 1234, **changes: Any) -> dict[str, Any]:
    answer = post(api, "/cases", filing(serial, **changes), token("clerk"))
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)


def test_clerk_opens_a_case_with_its_own_account_number(api: Any, token: Any) -> None:
    case = open_case(api, token)
    assert case["case_number"] == "(2026)粤0604执1234号"
    assert case["status"] == "open"
    number = case["account_number"]
    assert identifiers.normalise_account_number(number) == number
    assert number.startswith("44060426")
    assert case["account_number_display"] == identifiers.group_account_number(number)
    assert case["adjudicated_amount"] == {"fen": 12_345_600, "currency": "CNY", "yuan": "123456.00"}
    creditor = case["parties"][0]
    assert creditor["id_number"] == CREDITOR_ID  # the case officer sees it in full
    assert creditor["receiving_account"]["confirmed_by"] == "clerk-1"


def test_each_case_gets_a_different_account_number(api: Any, token: Any) -> None:
    numbers = {open_case(api, token, serial)["account_number"] for serial in (1, 2, 3)}
    assert len(numbers) == 3


def test_filing_the_same_case_twice_returns_the_first(api: Any, token: Any) -> None:
    first = open_case(api, token)
    again = post(api, "/cases", filing(), token("clerk"))
    assert again.status_code == 200
    assert json.loads(again.body)["case_id"] == first["case_id"]


def test_another_case_under_the_same_number_is_refused(api: Any, token: Any) -> None:
    open_case(api, token)
    other = post(api, "/cases", filing(adjudicated_amount=1), token("clerk"))
    assert other.status_code == 409
    problem = json.loads(other.body)
    assert problem["type"].endswith("cases/duplicate-case-number")


@pytest.mark.parametrize("role", ["auditor", "approver", "finance"])
def test_personal_data_is_masked_for_roles_that_do_not_need_it(
    api: Any, token: Any, role: str
) -> None:
    case_id = open_case(api, token)["case_id"]
    shown = json.loads(api.get(f"/cases/{case_id}", headers=token(role)).body)
    creditor, debtor = shown["parties"]
    assert creditor["id_number"] == "4401**********1238"
    assert debtor["id_number"] == DEBTOR_CREDIT_CODE[:4] + "*" * 10 + DEBTOR_CREDIT_CODE[-4:]
    assert creditor["phone"] == "138****5678"
    account = creditor["receiving_account"]["account_number"]
    if role == "finance":
        assert account == "6222020200112233445"  # finance pays out to it
    else:
        assert account == "*" * 15 + "3445"


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"case_number": "2026-1234"}, "/case_number"),
        ({"court_code": "粤0605"}, ""),
        ({"adjudicated_amount": 10.5}, "/adjudicated_amount"),
        ({"adjudicated_amount": -1}, "/adjudicated_amount"),
        ({"adjudicated_amount": "12.345"}, "/adjudicated_amount"),
        ({"fund_types": []}, "/fund_types"),
        ({"currency": "USD"}, "/currency"),
        ({"judge": "x"}, "/judge"),
    ],
)
def test_bad_filings_are_refused_with_the_field_named(
    api: Any, token: Any, changes: dict[str, Any], pointer: str
) -> None:
    answer = post(api, "/cases", filing(**changes), token("clerk"))
    assert answer.status_code == 422
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    problem = json.loads(answer.body)
    assert any(e["pointer"] == pointer for e in problem["errors"]), problem


def test_decimal_yuan_string_is_read_as_fen(api: Any, token: Any) -> None:
    case = open_case(api, token, adjudicated_amount="1234.5")
    assert case["adjudicated_amount"]["fen"] == 123_450


def test_party_checks_refuse_mistyped_ids_and_mismatched_payee(api: Any, token: Any) -> None:
    body = filing()
    body["parties"][0]["id_number"] = CREDITOR_ID[:-1] + "0"
    answer = post(api, "/cases", body, token("clerk"))
    assert answer.status_code == 422
    assert "mistyped" in answer.body.decode()

    body = filing()
    body["parties"][0]["receiving_account"]["account_name"] = "李四"
    answer = post(api, "/cases", body, token("clerk"))
    assert answer.status_code == 422
    assert json.loads(answer.body)["errors"][0]["pointer"] == "/parties/0"
    assert "must match" in answer.body.decode()

    body = filing()
    body["parties"] = [body["parties"][1]]
    answer = post(api, "/cases", body, token("clerk"))
    assert answer.status_code == 422
    assert "creditor and one debtor" in answer.body.decode()


def test_cases_are_listed_by_court_and_status_a_page_at_a_time(
    api: Any, token: Any, clock: Any
) -> None:
    opened = []
    for serial in range(1, 6):
        clock.advance(timedelta(minutes=1))
        opened.append(open_case(api, token, serial)["case_id"])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        path = "/cases?court=粤0604&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = json.loads(api.get(path, headers=token("auditor")).body)
        seen += [c["case_id"] for c in page["cases"]]
        pages += 1
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == list(reversed(opened))  # newest first, each exactly once
    assert pages == 3

    reason = {"status": "suspended", "reason": "debtor has no assets found"}
    post(api, f"/cases/{opened[0]}/status", reason, token("clerk"))
    suspended = json.loads(
        api.get("/cases?court=粤0604&status=suspended", headers=token("clerk")).body
    )
    assert [c["case_id"] for c in suspended["cases"]] == [opened[0]]
    both = token("clerk", courts=("粤0604", "粤0605"))
    other_court = json.loads(api.get("/cases?court=粤0605", headers=both).body)
    assert other_court["cases"] == []


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 422),
        ("?court=粤0604&limit=0", 422),
        ("?court=粤0604&cursor=bm9wZQ", 400),
        ("?court=x", 422),
    ],
)
def test_bad_list_queries_are_refused(api: Any, token: Any, query: str, status: int) -> None:
    answer = api.get("/cases" + query, headers=token("clerk"))
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_status_changes_are_recorded_with_who_when_and_why(
    api: Any, token: Any, clock: Any
) -> None:
    case_id = open_case(api, token)["case_id"]
    clock.advance(timedelta(days=3))
    answer = post(
        api,
        f"/cases/{case_id}/status",
        {"status": "suspended", "reason": "debtor appealed"},
        token("clerk", subject="officer-7"),
    )
    assert answer.status_code == 200
    assert json.loads(answer.body)["status"] == "suspended"
    post(api, f"/cases/{case_id}/status", {"status": "concluded", "reason": "paid"}, token("admin"))

    history = json.loads(api.get(f"/cases/{case_id}/history", headers=token("auditor")).body)
    events = history["events"]
    assert [e["action"] for e in events] == ["opened", "status_changed", "status_changed"]
    assert events[1]["actor"] == "officer-7"
    assert events[1]["reason"] == "debtor appealed"
    assert events[1]["details"] == {"from": "open", "to": "suspended"}
    assert events[1]["at"].startswith("2026-11-05")


def test_a_concluded_case_cannot_change_status(api: Any, token: Any) -> None:
    case_id = open_case(api, token)["case_id"]
    post(api, f"/cases/{case_id}/status", {"status": "concluded", "reason": "paid"}, token("clerk"))
    again = post(
        api, f"/cases/{case_id}/status", {"status": "open", "reason": "oops"}, token("clerk")
    )
    assert again.status_code == 409
    assert json.loads(again.body)["current_status"] == "concluded"


def test_a_status_change_needs_a_reason(api: Any, token: Any) -> None:
    case_id = open_case(api, token)["case_id"]
    answer = post(api, f"/cases/{case_id}/status", {"status": "suspended"}, token("clerk"))
    assert answer.status_code == 422
    assert json.loads(answer.body)["errors"][0]["pointer"] == "/reason"


def test_staff_find_a_case_by_its_typed_account_number(api: Any, token: Any) -> None:
    case = open_case(api, token)
    typed = case["account_number_display"].replace(" ", "%20")
    found = api.get(f"/case-accounts/{typed}", headers=token("finance"))
    assert json.loads(found.body)["case_id"] == case["case_id"]

    digits = case["account_number"]
    mistyped = digits[:-2] + digits[-1] + digits[-2]
    if mistyped != digits:
        answer = api.get(f"/case-accounts/{mistyped}", headers=token("finance"))
        assert answer.status_code == 422
        assert json.loads(answer.body)["type"].endswith("cases/invalid-account-number")

    unknown = identifiers.make_account_number("粤0604", 2026, 999)
    assert api.get(f"/case-accounts/{unknown}", headers=token("finance")).status_code == 404


def test_unknown_case_is_404(api: Any, token: Any) -> None:
    answer = api.get("/cases/cnothere", headers=token("clerk"))
    assert answer.status_code == 404
    assert json.loads(answer.body)["type"].endswith("cases/not-found")


def test_id_and_phone_numbers_never_reach_the_logs(
    api: Any, token: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    case_id = open_case(api, token)["case_id"]
    api.get(f"/cases/{case_id}", headers=token("clerk"))
    body = filing()
    body["parties"][0]["id_number"] = CREDITOR_ID[:-1] + "0"
    post(api, "/cases", body, token("clerk"))
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (CREDITOR_ID, DEBTOR_CREDIT_CODE, "13812345678", "13987654321"):
        assert secret not in logged


def test_opening_a_case_opens_its_ledger_account_at_zero(api: Any, token: Any) -> None:
    case = open_case(api, token)
    shown = json.loads(api.get(f"/cases/{case['case_id']}/balances", headers=token("auditor")).body)
    assert shown["account_number"] == case["account_number"]
    balance = shown["balance"]
    assert balance["account_id"] == case["account_number"]
    assert (balance["posted"], balance["available"], balance["seq"]) == (0, 0, 0)
