"""A refused filing stores nothing; full-width input is the same case or person as ASCII input;
text fields refuse characters that hide or disguise what a reader sees."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from tests.cases.factories import CREDITOR_ID, filing

FULL_WIDTH = str.maketrans("0123456789()X", "０１２３４５６７８９（）Ｘ")


def post(api: Any, body: Any, headers: dict[str, str]) -> Any:
    return api.post("/cases", body=json.dumps(body, ensure_ascii=False).encode(), headers=headers)


def stored_items() -> int:
    """Every item in the cases and ledger tables (a scan is fine on a test's small tables)."""
    total = 0
    for env in ("CASES_TABLE", "LEDGER_TABLE"):
        pages = wiring.dynamodb().get_paginator("scan").paginate(TableName=wiring.table_name(env))
        total += sum(page["Count"] for page in pages)
    return total


def test_full_width_digits_letters_and_brackets_file_the_same_case(api: Any, token: Any) -> None:
    body = filing()
    body["court_code"] = "粤0604".translate(FULL_WIDTH)
    body["case_number"] = body["case_number"].translate(FULL_WIDTH)
    body["parties"][0]["id_number"] = CREDITOR_ID.translate(FULL_WIDTH)
    body["parties"][0]["phone"] = "13812345678".translate(FULL_WIDTH)
    first = post(api, body, token("clerk"))
    assert first.status_code == 201, first.body
    case = json.loads(first.body)
    assert case["case_number"] == "(2026)粤0604执1234号"
    assert case["account_number"].isascii()
    assert len(case["account_number"]) == 16
    assert case["parties"][0]["id_number"] == CREDITOR_ID
    assert case["parties"][0]["phone"] == "13812345678"

    again = post(api, filing(), token("clerk"))  # the same case typed in ASCII
    assert again.status_code == 200, again.body
    assert json.loads(again.body)["case_id"] == case["case_id"]


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = filing()
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


REFUSED = {
    "court name with NUL": _with(("court_name",), "佛山市禅城区人民法院\x00"),
    "court name with an ANSI escape": _with(("court_name",), "\x1b[31m佛山市禅城区人民法院"),
    "court name with a bidi override": _with(("court_name",), "佛山市\u202e禅城区人民法院"),
    "court name with a zero-width space": _with(("court_name",), "佛山市\u200b禅城区人民法院"),
    "court name that is not a court": _with(("court_name",), "请向账户6222转账"),
    "party name with a bidi isolate": _with(("parties", 0, "name"), "张\u2066三"),
    "bank name that is blank": _with(("parties", 0, "receiving_account", "bank_name"), "\t "),
    "full-width court code of another court": _with(("court_code",), "粤０６０５"),
    "case number with Arabic-Indic digits": _with(("case_number",), "(٢٠٢٦)粤0604执1234号"),
    "resident id with a wrong check character": _with(("parties", 0, "id_number"), "４" * 18),
}


@pytest.mark.parametrize("body", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_filing_stores_nothing(api: Any, token: Any, body: dict[str, Any]) -> None:
    before = stored_items()
    answer = post(api, body, token("clerk"))
    assert answer.status_code == 422, answer.body
    assert stored_items() == before


def test_a_court_keeps_the_name_its_cases_carry(api: Any, token: Any) -> None:
    assert post(api, filing(1), token("clerk")).status_code == 201
    before = stored_items()
    other = post(api, filing(2, court_name="广州市天河区人民法院"), token("clerk"))
    assert other.status_code == 422
    problem = json.loads(other.body)
    assert problem["type"].endswith("cases/court-name-mismatch")
    assert problem["errors"][0]["pointer"] == "/court_name"
    assert stored_items() == before


@pytest.mark.parametrize("reason", [" ", "\t", "\u200b\u200b", "ok\x00ok", "退回\u202e原因"])
def test_blank_or_disguised_reasons_are_refused(api: Any, token: Any, reason: str) -> None:
    case = json.loads(post(api, filing(), token("clerk")).body)
    answer = api.post(
        f"/cases/{case['case_id']}/status",
        body=json.dumps({"status": "suspended", "reason": reason}).encode(),
        headers=token("clerk"),
    )
    assert answer.status_code == 422, answer.body
    history = api.get(f"/cases/{case['case_id']}/history", headers=token("clerk"))
    assert len(json.loads(history.body)["events"]) == 1
