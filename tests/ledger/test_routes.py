"""The ledger's HTTP routes through chalice.test.Client on moto: roles, bodies, answers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from app import app
from chalicelib.clock import FixedClock, isoformat
from chalicelib.ledger import InvalidTransfer, LedgerService
from chalicelib.wiring import ledger_service
from tests.conftest import PROJECT_ROOT
from tests.ledger.conftest import CASE_A, CASE_B, collect, disburse

ROUTES = [
    ("GET", f"/ledger/accounts/{CASE_A}/balance"),
    ("GET", f"/ledger/accounts/{CASE_A}/statement"),
    ("GET", f"/ledger/accounts/{CASE_A}/verify"),
    ("GET", "/ledger/transfers/pay-1"),
    ("GET", "/ledger/corrections"),
    ("POST", "/ledger/corrections"),
    ("GET", "/ledger/corrections/fix-1"),
    ("POST", "/ledger/corrections/fix-1/post"),
    ("POST", "/ledger/corrections/fix-1/reject"),
]


@pytest.fixture
def books(api: Any) -> LedgerService:
    """The app's own ledger with system accounts, two case accounts and 1000 fen on case A."""
    ledger = ledger_service()
    ledger.ensure_system_accounts()
    ledger.open_case_account(CASE_A, case_id="case-a")
    ledger.open_case_account(CASE_B, case_id="case-b")
    collect(ledger, CASE_A, 1000, "pay-1")
    return ledger


def send(api: Any, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    return api.request(method, path, body=data, headers=headers)


def answer(response: Any) -> Any:
    return json.loads(response.body)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_ledger_route_needs_sign_in(api: Any, method: str, path: str) -> None:
    response = send(api, method, path, {"Content-Type": "application/json"}, {})
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("clerk", "GET", f"/ledger/accounts/{CASE_A}/verify"),
        ("approver", "GET", f"/ledger/accounts/{CASE_A}/verify"),
        ("finance", "POST", "/ledger/corrections"),
        ("auditor", "POST", "/ledger/corrections"),
        ("clerk", "POST", "/ledger/corrections/fix-1/post"),
        ("approver", "POST", "/ledger/corrections/fix-1/reject"),
    ],
)
def test_roles_are_enforced(api: Any, token: Any, role: str, method: str, path: str) -> None:
    response = send(api, method, path, token(role), {})
    assert response.status_code == 403


def test_staff_read_a_balance_now_and_at_a_moment(
    api: Any, token: Any, books: LedgerService, clock: FixedClock
) -> None:
    before = clock.now() - timedelta(seconds=1)
    clock.advance(timedelta(hours=1))
    collect(books, CASE_A, 500, "pay-2")
    now = answer(api.get(f"/ledger/accounts/{CASE_A}/balance", headers=token("approver")))
    assert (now["posted"], now["available"], now["seq"]) == (1500, 1500, 2)
    query = urlencode({"at": isoformat(before)})
    then = answer(api.get(f"/ledger/accounts/{CASE_A}/balance?{query}", headers=token("clerk")))
    assert then["posted"] == 0


def test_a_typed_account_number_with_spaces_is_found(
    api: Any, token: Any, books: LedgerService
) -> None:
    typed = "4406%200426%200000%200011"
    response = api.get(f"/ledger/accounts/{typed}/balance", headers=token("clerk"))
    assert answer(response)["account_id"] == CASE_A


def test_an_unknown_account_is_a_404_problem(api: Any, token: Any, books: LedgerService) -> None:
    response = api.get("/ledger/accounts/4406042600009999/balance", headers=token("clerk"))
    assert response.status_code == 404
    assert answer(response)["type"].endswith("ledger/account-not-found")


def test_a_statement_pages_with_running_balances(
    api: Any, token: Any, books: LedgerService, clock: FixedClock
) -> None:
    for n in range(2, 5):
        clock.advance(timedelta(minutes=1))
        collect(books, CASE_A, 100, f"pay-{n}")
    window = {
        "start": isoformat(clock.now() - timedelta(days=1)),
        "end": isoformat(clock.now() + timedelta(days=1)),
        "limit": "3",
    }
    path = f"/ledger/accounts/{CASE_A}/statement?"
    first = answer(api.get(path + urlencode(window), headers=token("auditor")))
    assert [line["balance"] for line in first["lines"]] == [1000, 1100, 1200]
    rest = answer(
        api.get(
            path + urlencode({**window, "cursor": first["next_cursor"]}), headers=token("clerk")
        )
    )
    assert [line["balance"] for line in rest["lines"]] == [1300]
    assert rest["next_cursor"] is None


def test_a_cursor_cannot_page_into_another_account(
    api: Any, token: Any, books: LedgerService, clock: FixedClock
) -> None:
    for n in range(2, 4):
        collect(books, CASE_B, 100, f"pay-{n}")
    window = {
        "start": isoformat(clock.now() - timedelta(days=1)),
        "end": isoformat(clock.now() + timedelta(days=1)),
        "limit": "1",
    }
    other = answer(
        api.get(f"/ledger/accounts/{CASE_B}/statement?{urlencode(window)}", headers=token("clerk"))
    )
    path = f"/ledger/accounts/{CASE_A}/statement?"
    for cursor in (other["next_cursor"], "bm90IGpzb24", "%%%"):
        response = api.get(path + urlencode({**window, "cursor": cursor}), headers=token("clerk"))
        assert response.status_code == 422
        assert answer(response)["type"].endswith("ledger/invalid-query")


def test_a_statement_needs_its_window(api: Any, token: Any, books: LedgerService) -> None:
    response = api.get(f"/ledger/accounts/{CASE_A}/statement", headers=token("clerk"))
    assert response.status_code == 422
    assert {e["pointer"] for e in answer(response)["errors"]} == {"/start", "/end"}


def test_an_auditor_verifies_an_account(api: Any, token: Any, books: LedgerService) -> None:
    report = answer(api.get(f"/ledger/accounts/{CASE_A}/verify", headers=token("auditor")))
    assert report["ok"] is True
    assert report["entries_checked"] == 1


def test_staff_read_a_transfer(api: Any, token: Any, books: LedgerService) -> None:
    shown = answer(api.get("/ledger/transfers/pay-1", headers=token("clerk")))
    assert shown["code"] == "collection"
    assert api.get("/ledger/transfers/nope", headers=token("clerk")).status_code == 404


CORRECTION = {
    "id": "fix-1",
    "debit_account": CASE_A,
    "credit_account": CASE_B,
    "amount": "3.00",
    "reason": "paid to the wrong case",
}


def test_a_clerk_proposes_and_finance_posts_a_correction(
    api: Any, token: Any, books: LedgerService
) -> None:
    proposed = send(api, "POST", "/ledger/corrections", token("clerk"), CORRECTION)
    assert proposed.status_code == 201
    assert answer(proposed)["status"] == "open"
    assert answer(proposed)["amount"] == 300
    assert books.balance(CASE_B).posted == 0
    waiting = answer(api.get("/ledger/corrections", headers=token("finance")))
    assert [p["id"] for p in waiting["proposals"]] == ["fix-1"]

    posted = send(api, "POST", "/ledger/corrections/fix-1/post", token("finance"))
    assert posted.status_code == 201
    transfer = answer(posted)
    assert transfer["code"] == "correction"
    assert transfer["metadata"]["proposed_by"] == "clerk-1"
    assert transfer["metadata"]["reason"] == "paid to the wrong case"
    assert books.balance(CASE_A).posted == 700
    assert books.balance(CASE_B).posted == 300
    shown = answer(api.get("/ledger/corrections/fix-1", headers=token("auditor")))
    assert (shown["status"], shown["decided_by"]) == ("posted", "finance-1")
    assert answer(api.get("/ledger/corrections", headers=token("finance")))["proposals"] == []
    again = send(api, "POST", "/ledger/corrections/fix-1/post", token("finance"))
    assert answer(again) == transfer
    assert books.balance(CASE_B).posted == 300


def test_the_proposer_may_not_post_their_own_correction(
    api: Any, token: Any, books: LedgerService
) -> None:
    both = token("clerk", "finance", subject="clerk-9")
    assert send(api, "POST", "/ledger/corrections", both, CORRECTION).status_code == 201
    response = send(api, "POST", "/ledger/corrections/fix-1/post", both)
    assert response.status_code == 403
    assert answer(response)["type"].endswith("ledger/same-actor")
    assert books.balance(CASE_B).posted == 0


@pytest.mark.parametrize("second_name", ["Someone Else", None])
def test_four_eyes_compare_the_token_subject_not_the_display_name(
    api: Any, token: Any, books: LedgerService, second_name: str | None
) -> None:
    """The same person holding clerk and finance proposes, then changes (or drops) the name
    claim and tries to post or reject: still the same subject, still refused."""
    proposer = token("clerk", "finance", subject="same-person", name="Wang Wei")
    assert send(api, "POST", "/ledger/corrections", proposer, CORRECTION).status_code == 201
    renamed = token("clerk", "finance", subject="same-person", name=second_name)
    for action, body in (("post", None), ("reject", {"reason": "changed my mind"})):
        response = send(api, "POST", f"/ledger/corrections/fix-1/{action}", renamed, body)
        assert response.status_code == 403, response.body
        assert answer(response)["type"].endswith("ledger/same-actor")
    assert books.balance(CASE_B).posted == 0
    assert answer(api.get("/ledger/corrections/fix-1", headers=proposer))["status"] == "open"
    # another person who happens to carry the proposer's display name may post it
    namesake = token("finance", subject="other-person", name="Wang Wei")
    assert send(api, "POST", "/ledger/corrections/fix-1/post", namesake).status_code == 201
    assert books.balance(CASE_B).posted == 300


def test_a_rejected_correction_cannot_be_posted(api: Any, token: Any, books: LedgerService) -> None:
    send(api, "POST", "/ledger/corrections", token("clerk"), CORRECTION)
    rejected = send(
        api, "POST", "/ledger/corrections/fix-1/reject", token("finance"), {"reason": "no proof"}
    )
    assert answer(rejected)["status"] == "rejected"
    response = send(api, "POST", "/ledger/corrections/fix-1/post", token("finance"))
    assert response.status_code == 409
    assert answer(response)["type"].endswith("ledger/proposal-not-open")


def test_a_reused_proposal_id_with_other_content_is_a_conflict(
    api: Any, token: Any, books: LedgerService
) -> None:
    send(api, "POST", "/ledger/corrections", token("clerk"), CORRECTION)
    again = send(api, "POST", "/ledger/corrections", token("clerk"), CORRECTION)
    assert again.status_code == 201
    changed = send(api, "POST", "/ledger/corrections", token("clerk"), {**CORRECTION, "amount": 1})
    assert changed.status_code == 409


def test_a_correction_id_leaves_room_for_its_transfer_id(
    api: Any, token: Any, books: LedgerService
) -> None:
    too_long = {**CORRECTION, "id": "c" * 101}
    response = send(api, "POST", "/ledger/corrections", token("clerk"), too_long)
    assert response.status_code == 422
    with pytest.raises(InvalidTransfer):
        books.propose_correction(
            "c" * 101,
            debit_account=CASE_A,
            credit_account=CASE_B,
            amount=1,
            reason="r",
            proposed_by="clerk-1",
            subject="clerk-1",
        )


def test_the_expiry_sweeper_runs_on_a_schedule(books: LedgerService, clock: FixedClock) -> None:
    [schedule] = [s for s in app.event_sources if s.name == "expire_pending_transfers"]
    assert "rate(5 minutes)" in schedule.schedule_expression.to_string()
    disburse(books, CASE_A, 600, "out-1", pending=True, timeout_seconds=60)
    clock.advance(timedelta(seconds=61))
    with Client(app, stage_name="test", project_dir=str(PROJECT_ROOT)) as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        assert client.lambda_.invoke("expire_pending_transfers", event).payload == {"expired": 1}
        assert client.lambda_.invoke("expire_pending_transfers", event).payload == {"expired": 0}
    assert books.balance(CASE_A).available == 1000
