"""Counter cash (现场交款补录) under four eyes: a clerk enters the cash taken at the counter with
its paper receipt, another person (finance) confirms it, and only then is it posted to the case
account and counted toward the case, exactly once, so the pay page no longer asks for it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cases import Case, CaseStatus
from chalicelib.cases.identifiers import make_account_number
from chalicelib.clock import FixedClock, isoformat
from chalicelib.collection import AmountRefused, CollectionService
from chalicelib.collection.models import StartPayment
from chalicelib.ledger import SystemAccount, TransferCode
from chalicelib.ledger.shards import base_of
from chalicelib.wiring import case_service, ledger_service
from tests.collection.conftest import open_case, outbox_deliveries

COUNTER = SystemAccount.CASH_AT_COUNTER.of("CNY")


def cash(case: Case, clock: FixedClock, **changes: Any) -> dict[str, Any]:
    """The clerk's entry for cash taken half an hour ago at the counter."""
    return {
        "id": "cash-1",
        "account_id": case.account_number,
        "amount": 3_000,
        "receipt_no": "GD-2026-000123",
        "received_at": isoformat(clock.now() - timedelta(minutes=30)),
        **changes,
    }


def enter(api: Any, token: Any, body: dict[str, Any], role: str = "clerk") -> Any:
    return api.post(
        "/collection/counter-cash",
        headers=token(role, subject="clerk-3"),
        body=json.dumps(body, ensure_ascii=False),
    )


def confirm(api: Any, token: Any, entry_id: str = "cash-1", **who: Any) -> Any:
    headers = token("finance", subject=who.pop("subject", "finance-7"), **who)
    return api.post(f"/collection/counter-cash/{entry_id}/confirm", headers=headers)


def entered_and_confirmed(api: Any, token: Any, body: dict[str, Any]) -> Any:
    entered = enter(api, token, body)
    assert entered.status_code == 201, entered.body
    return confirm(api, token, body["id"])


def standing(api: Any, token: Any, case: Case) -> dict[str, Any]:
    answer = api.get(f"/cases/{case.case_id}/standing", headers=token("finance"))
    return dict(json.loads(answer.body))


def test_entered_cash_moves_nothing_until_another_person_confirms_it(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    entered = enter(api, token, cash(case, clock, amount="30.00"))

    assert entered.status_code == 201, entered.body
    assert entered.headers["Location"] == "/collection/counter-cash/cash-1"
    entry = json.loads(entered.body)
    assert (entry["status"], entry["amount"], entry["entered_by"]) == ("proposed", 3_000, "clerk-3")
    assert standing(api, token, case)["paid"]["fen"] == 0
    assert ledger_service().balance(case.account_number).posted == 0
    waiting = json.loads(api.get("/collection/counter-cash", headers=token("finance")).body)
    assert [e["id"] for e in waiting["items"]] == ["cash-1"]

    confirmed = confirm(api, token)
    assert confirmed.status_code == 201, confirmed.body
    assert confirmed.headers["Location"] == "/ledger/transfers/cash-1"
    record = json.loads(confirmed.body)
    assert (record["transfer_id"], record["amount"], record["confirmed_by"]) == (
        "cash-1",
        3_000,
        "finance-7",
    )
    view = standing(api, token, case)
    assert (view["paid"]["fen"], view["remaining"]["fen"]) == (3_000, 7_000)
    ledger = ledger_service()
    assert ledger.balance(case.account_number).posted == 3_000
    assert ledger.balance(COUNTER).posted == -3_000
    transfer = ledger.get_transfer("cash-1")
    assert transfer.code == TransferCode.CASH_BACK_ENTRY
    assert (transfer.requested_by, transfer.metadata["confirmed_by"]) == ("clerk-3", "finance-7")
    assert [(base_of(leg.account_id), leg.side.value) for leg in transfer.legs] == [
        (COUNTER, "debit"),
        (case.account_number, "credit"),
    ]
    shown = json.loads(api.get("/collection/counter-cash/cash-1", headers=token("auditor")).body)
    assert (shown["status"], shown["decided_by"]) == ("confirmed", "finance-7")
    assert json.loads(api.get("/collection/counter-cash", headers=token("finance")).body) == {
        "items": []
    }


@pytest.mark.parametrize("second_name", ["Another Name", None])
def test_the_person_who_entered_cash_may_not_confirm_or_reject_it(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService, second_name: Any
) -> None:
    """Four eyes by the token's subject: the same person holding clerk and finance, with a
    changed or missing display name, is still the same person."""
    case = open_case(amount=10_000)
    both = token("clerk", "finance", subject="clerk-finance-1", name="Li Na")
    assert api.post("/collection/counter-cash", headers=both, body=json.dumps(cash(case, clock)))
    renamed = token("clerk", "finance", subject="clerk-finance-1", name=second_name)
    for action, body in (("confirm", None), ("reject", {"reason": "wrong amount"})):
        answer = api.post(
            f"/collection/counter-cash/cash-1/{action}",
            headers=renamed,
            body=None if body is None else json.dumps(body),
        )
        assert answer.status_code == 403, answer.body
        assert json.loads(answer.body)["type"].endswith("collection/same-person")
    assert ledger_service().balance(case.account_number).posted == 0
    assert collection.store.standing(case.case_id).paid == 0


def test_a_replayed_entry_or_confirmation_gets_the_first_answer_and_counts_once(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    entry = cash(case, clock)
    first = enter(api, token, entry)
    clock.advance(timedelta(minutes=5))
    again = enter(api, token, entry)
    assert again.status_code == 201
    assert json.loads(again.body) == json.loads(first.body)
    other = enter(api, token, {**entry, "amount": 3_001})
    assert other.status_code == 409
    assert json.loads(other.body)["type"].endswith("collection/entry-id-taken")

    confirmed = confirm(api, token)
    assert confirm(api, token).body == confirmed.body
    someone_else = confirm(api, token, subject="finance-8")
    assert someone_else.status_code == 409
    assert json.loads(someone_else.body)["type"].endswith("collection/already-decided")
    assert standing(api, token, case)["paid"]["fen"] == 3_000
    assert collection.store.standing(case.case_id).payments == 1
    assert ledger_service().balance(case.account_number).posted == 3_000


def test_a_confirmation_that_arrives_while_the_first_is_in_flight_gets_the_same_answer(
    api: Any,
    token: Any,
    clock: FixedClock,
    collection: CollectionService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = open_case(amount=10_000)
    assert enter(api, token, cash(case, clock)).status_code == 201
    commit = collection.store.commit_counter_cash
    twins: list[Any] = []

    def twin_first(*args: Any, **kwargs: Any) -> bool:
        if not twins:
            twins.append(None)
            twins[0] = confirm(api, token)  # the same request, sent again, finishes first
        return commit(*args, **kwargs)

    monkeypatch.setattr(collection.store, "commit_counter_cash", twin_first)
    first = confirm(api, token)
    assert (first.status_code, twins[0].status_code) == (201, 201)
    assert json.loads(first.body) == json.loads(twins[0].body)
    assert collection.store.standing(case.case_id).payments == 1
    assert ledger_service().balance(case.account_number).posted == 3_000


@pytest.mark.parametrize("crash", ["before-the-count", "after-the-count"])
def test_a_crash_after_the_ledger_posted_is_counted_exactly_once_by_the_retry(
    *,
    api: Any,
    token: Any,
    clock: FixedClock,
    collection: CollectionService,
    monkeypatch: pytest.MonkeyPatch,
    crash: str,
) -> None:
    """The ledger transfer is posted, then the function dies: before the standing commit, or
    after it with the answer lost. A retried confirmation (by anyone in finance) replays the
    transfer and counts the cash only if it was not counted yet."""
    case = open_case(amount=10_000)
    assert enter(api, token, cash(case, clock)).status_code == 201
    commit = collection.store.commit_counter_cash

    def dies(*args: Any, **kwargs: Any) -> bool:
        if crash == "after-the-count":
            commit(*args, **kwargs)
        raise ConnectionError("the function timed out")

    monkeypatch.setattr(collection.store, "commit_counter_cash", dies)
    assert confirm(api, token).status_code == 500
    monkeypatch.undo()
    assert ledger_service().balance(case.account_number).posted == 3_000
    counted_before_retry = 3_000 if crash == "after-the-count" else 0
    assert collection.store.standing(case.case_id).paid == counted_before_retry

    retried = confirm(api, token, subject="finance-8")
    assert retried.status_code == 201, retried.body
    assert json.loads(retried.body)["confirmed_by"] == "finance-7"  # as the ledger holds it
    assert confirm(api, token, subject="finance-8").status_code == 201
    assert standing(api, token, case)["paid"]["fen"] == 3_000
    assert collection.store.standing(case.case_id).payments == 1
    assert ledger_service().balance(case.account_number).posted == 3_000


def test_paying_in_full_at_the_counter_tells_the_creditor_of_each_and_closes_the_pay_page(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService, outbox: Path
) -> None:
    case = open_case(amount=10_000)
    entered_and_confirmed(api, token, cash(case, clock, id="cash-1", amount=4_000))
    [arrived] = outbox_deliveries(outbox)
    assert (arrived.kind, arrived.address) == ("case.money_arrived", case.creditors[0].phone)
    assert "执行款40.00元已到账，累计到账40.00元" in arrived.body
    final = cash(case, clock, id="cash-2", amount=6_000, receipt_no="GD-2026-000124")
    assert entered_and_confirmed(api, token, final).status_code == 201
    assert confirm(api, token, "cash-2").status_code == 201

    [_, message] = outbox_deliveries(outbox)
    assert (message.kind, message.address) == ("case.paid_in_full", case.creditors[0].phone)
    assert "执行款100.00元已足额到账" in message.body
    view = standing(api, token, case)
    assert (view["paid"]["fen"], view["remaining"]["fen"], view["paid_in_full"]) == (
        10_000,
        0,
        True,
    )
    with pytest.raises(AmountRefused):
        collection.start_payment(
            case.account_number, StartPayment(amount=100), idempotency_key=None
        )


def test_counter_cash_beyond_what_is_owed_is_a_surplus_draft(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    assert entered_and_confirmed(api, token, cash(case, clock, amount=12_500)).status_code == 201

    assert standing(api, token, case)["surplus"]["fen"] == 2_500
    [draft] = json.loads(api.get("/collection/surplus-drafts", headers=token("finance")).body)[
        "items"
    ]
    assert (draft["case_id"], draft["amount"], draft["last_payment_id"]) == (
        case.case_id,
        2_500,
        "cash-1",
    )


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"amount": 12.5}, "/amount"),
        ({"amount": 0}, "/amount"),
        ({"account_id": "12"}, "/account_id"),
        ({"received_at": "2026-11-02T08:30:00"}, "/received_at"),
        ({"received_at": 1_793_000_000}, "/received_at"),
        ({"id": "x" * 129}, "/id"),
        ({"receipt_no": ""}, "/receipt_no"),
        ({"receipt_no": "   "}, "/receipt_no"),
        ({"receipt_no": "GD\u0000123"}, "/receipt_no"),
        ({"surprise": 1}, "/surprise"),
    ],
)
def test_a_bad_entry_is_refused_field_by_field(
    *,
    api: Any,
    token: Any,
    clock: FixedClock,
    collection: CollectionService,
    change: dict[str, Any],
    pointer: str,
) -> None:
    case = open_case(amount=10_000)
    response = enter(api, token, {**cash(case, clock), **change})
    assert response.status_code == 422
    assert [e["pointer"] for e in json.loads(response.body)["errors"]] == [pointer]
    assert api.get("/collection/counter-cash/cash-1", headers=token("finance")).status_code == 404


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"received_at": "FUTURE"}, "future"),
        ({"received_at": "TOO-OLD"}, "days ago"),
        ({"amount": 10_000_000_000_000}, "above"),
        ({"amount": 50_000_001}, "above"),
    ],
)
def test_implausible_cash_is_refused_and_stores_nothing(
    *,
    api: Any,
    token: Any,
    clock: FixedClock,
    collection: CollectionService,
    change: dict[str, Any],
    why: str,
) -> None:
    case = open_case(amount=10_000)
    times = {
        "FUTURE": isoformat(clock.now() + timedelta(minutes=10)),
        "TOO-OLD": isoformat(clock.now() - timedelta(days=31)),
    }
    if change.get("received_at") in times:
        change = {"received_at": times[change["received_at"]]}
    response = enter(api, token, cash(case, clock, **change))
    assert response.status_code == 422, response.body
    problem = json.loads(response.body)
    assert problem["type"].endswith("collection/counter-cash-refused")
    assert why in problem["detail"]
    assert api.get("/collection/counter-cash/cash-1", headers=token("finance")).status_code == 404
    # the receipt number was not taken by the refusal
    assert enter(api, token, cash(case, clock)).status_code == 201


def test_the_ceiling_and_window_come_from_the_settings(
    api: Any, token: Any, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import wiring

    monkeypatch.setenv("COUNTER_CASH_CEILING_FEN", "2000")
    monkeypatch.setenv("COUNTER_CASH_MAX_AGE_DAYS", "1")
    wiring.reset()  # settings are read once per process: read the changed environment
    wiring.override(clock=clock)
    case = open_case(amount=10_000)
    assert enter(api, token, cash(case, clock, amount=2_001)).status_code == 422
    old = isoformat(clock.now() - timedelta(days=2))
    assert enter(api, token, cash(case, clock, amount=2_000, received_at=old)).status_code == 422
    assert enter(api, token, cash(case, clock, amount=2_000)).status_code == 201


def test_a_paper_receipt_number_is_entered_once_per_court(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    other_case = open_case(serial=5678, amount=10_000)
    assert enter(api, token, cash(case, clock)).status_code == 201
    for typed in ("GD-2026-000123", "ＧＤ－２０２６－０００１２３", " gd-2026-000123 "):
        again = enter(api, token, cash(other_case, clock, id="cash-2", receipt_no=typed))
        assert again.status_code == 409, (typed, again.body)
        assert json.loads(again.body)["type"].endswith("collection/receipt-number-taken")
    # rejected, the number is free for the corrected entry
    rejected = api.post(
        "/collection/counter-cash/cash-1/reject",
        headers=token("finance", subject="finance-7"),
        body=json.dumps({"reason": "wrong case"}),
    )
    assert json.loads(rejected.body)["status"] == "rejected"
    assert confirm(api, token).status_code == 409
    corrected = cash(other_case, clock, id="cash-2")
    assert entered_and_confirmed(api, token, corrected).status_code == 201
    assert ledger_service().balance(case.account_number).posted == 0
    assert ledger_service().balance(other_case.account_number).posted == 3_000


def test_a_concluded_case_takes_no_counter_cash(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    assert enter(api, token, cash(case, clock)).status_code == 201
    case_service().change_status(case.case_id, CaseStatus.CONCLUDED, reason="执行完毕", actor="c")

    refused = enter(api, token, cash(case, clock, id="cash-2", receipt_no="GD-2"))
    assert refused.status_code == 409
    assert json.loads(refused.body)["type"].endswith("collection/case-not-payable")
    late = confirm(api, token)
    assert late.status_code == 409
    assert json.loads(late.body)["type"].endswith("collection/case-not-payable")
    assert ledger_service().balance(case.account_number).posted == 0
    assert collection.store.standing(case.case_id).paid == 0


def test_a_mistyped_or_unknown_account_number_is_refused(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    typo = case.account_number[:-1] + str((int(case.account_number[-1]) + 1) % 10)
    mistyped = enter(api, token, cash(case, clock, account_id=typo))
    assert mistyped.status_code == 422
    assert json.loads(mistyped.body)["type"].endswith("cases/invalid-account-number")
    nobodys = make_account_number("粤0604", 2026, 9_999_999)
    unknown = enter(api, token, cash(case, clock, account_id=nobodys))
    assert unknown.status_code == 404
    assert json.loads(unknown.body)["type"].endswith("cases/not-found")
    assert ledger_service().balance(COUNTER).posted == 0


@pytest.mark.parametrize("role", ["finance", "approver", "auditor", "admin"])
def test_only_a_clerk_enters_counter_cash(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService, role: str
) -> None:
    case = open_case(amount=10_000)
    response = enter(api, token, cash(case, clock), role=role)
    assert response.status_code == 403
    assert collection.store.standing(case.case_id).paid == 0


@pytest.mark.parametrize("role", ["clerk", "approver", "auditor", "admin"])
def test_only_finance_confirms_counter_cash(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService, role: str
) -> None:
    case = open_case(amount=10_000)
    assert enter(api, token, cash(case, clock)).status_code == 201
    answer = api.post("/collection/counter-cash/cash-1/confirm", headers=token(role))
    assert answer.status_code == 403
    assert ledger_service().balance(case.account_number).posted == 0


def test_an_entry_that_meets_a_concurrent_transaction_is_tried_again(
    api: Any, token: Any, clock: FixedClock, aws: Any
) -> None:
    """DynamoDB cancels a transaction that meets its twin on the same item: the entry is tried
    again rather than answered with a 500."""
    from tests.ledger.test_concurrency import inject_conflicts

    case = open_case(amount=10_000)
    injected = inject_conflicts(aws, times=2)
    entered = enter(api, token, cash(case, clock))
    aws.meta.events.unregister("before-call.dynamodb.TransactWriteItems")
    assert len(injected) == 2
    assert entered.status_code == 201, entered.body
    assert json.loads(entered.body)["status"] == "proposed"


@pytest.mark.parametrize(
    "changes",
    [
        {"received_at": "0001-01-01T00:00:00+14:00"},
        {"received_at": "9999-12-31T23:59:59-14:00"},
        {"receipt_no": "GD-2026\x00-000123"},
        {"receipt_no": "GD-\u202e321000-6202"},
        {"receipt_no": " "},
    ],
    ids=["year-1", "year-9999", "nul", "bidi-override", "blank"],
)
def test_counter_cash_with_an_impossible_date_or_disguised_receipt_is_refused(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService, changes: Any
) -> None:
    case = open_case(amount=10_000)
    answer = enter(api, token, cash(case, clock, **changes))
    assert answer.status_code == 422, answer.body
    assert ledger_service().balance(case.account_number).posted == 0
