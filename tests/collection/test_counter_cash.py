"""Counter cash (现场交款补录): cash a clerk took at the counter is posted to the case account and
counted toward the case exactly once, so the pay page no longer asks the debtor for it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cases import Case
from chalicelib.cases.identifiers import make_account_number
from chalicelib.clock import FixedClock, isoformat
from chalicelib.collection import AmountRefused, CollectionService
from chalicelib.collection.models import StartPayment
from chalicelib.ledger import SystemAccount, TransferCode
from chalicelib.wiring import ledger_service
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


def standing(api: Any, token: Any, case: Case) -> dict[str, Any]:
    answer = api.get(f"/cases/{case.case_id}/standing", headers=token("finance"))
    return dict(json.loads(answer.body))


def test_counter_cash_counts_as_paid_on_the_pay_page(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    entered = enter(api, token, cash(case, clock, amount="30.00"))

    assert entered.status_code == 201, entered.body
    assert entered.headers["Location"] == "/ledger/transfers/cash-1"
    record = json.loads(entered.body)
    assert (record["transfer_id"], record["case_id"], record["amount"]) == (
        "cash-1",
        case.case_id,
        3_000,
    )
    assert (record["receipt_no"], record["entered_by"]) == ("GD-2026-000123", "clerk-3")
    view = standing(api, token, case)
    assert (view["paid"]["fen"], view["remaining"]["fen"], view["paid_in_full"]) == (
        3_000,
        7_000,
        False,
    )
    ledger = ledger_service()
    assert ledger.balance(case.account_number).posted == 3_000
    transfer = ledger.get_transfer("cash-1")
    assert transfer.code == TransferCode.CASH_BACK_ENTRY
    assert transfer.requested_by == "clerk-3"
    assert transfer.metadata["receipt_no"] == "GD-2026-000123"
    assert [(leg.account_id, leg.side.value) for leg in transfer.legs] == [
        (COUNTER, "debit"),
        (case.account_number, "credit"),
    ]


def test_a_replayed_entry_counts_once_and_another_entry_under_its_id_is_refused(
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
    assert json.loads(other.body)["type"].endswith("ledger/idempotency-conflict")
    assert standing(api, token, case)["paid"]["fen"] == 3_000
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
    after it with the answer lost. The clerk's retry replays the transfer and counts the cash
    only if it was not counted yet."""
    case = open_case(amount=10_000)
    commit = collection.store.commit_counter_cash

    def dies(*args: Any, **kwargs: Any) -> bool:
        if crash == "after-the-count":
            commit(*args, **kwargs)
        raise ConnectionError("the function timed out")

    monkeypatch.setattr(collection.store, "commit_counter_cash", dies)
    failed = enter(api, token, cash(case, clock))
    assert failed.status_code == 500
    monkeypatch.undo()
    assert ledger_service().balance(case.account_number).posted == 3_000
    counted_before_retry = 3_000 if crash == "after-the-count" else 0
    assert collection.store.standing(case.case_id).paid == counted_before_retry

    for _ in range(2):
        retried = enter(api, token, cash(case, clock))
        assert retried.status_code == 201, retried.body
    assert standing(api, token, case)["paid"]["fen"] == 3_000
    assert collection.store.standing(case.case_id).payments == 1
    assert ledger_service().balance(case.account_number).posted == 3_000


def test_paying_in_full_at_the_counter_tells_the_creditor_once_and_closes_the_pay_page(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService, outbox: Path
) -> None:
    case = open_case(amount=10_000)
    enter(api, token, cash(case, clock, id="cash-1", amount=4_000))
    assert outbox_deliveries(outbox) == []
    final = cash(case, clock, id="cash-2", amount=6_000, receipt_no="GD-2026-000124")
    assert enter(api, token, final).status_code == 201
    assert enter(api, token, final).status_code == 201

    [message] = outbox_deliveries(outbox)
    assert (message.kind, message.address) == ("case.paid_in_full", case.creditors[0].phone)
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
    assert enter(api, token, cash(case, clock, amount=12_500)).status_code == 201

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
        ({"id": "x" * 129}, "/id"),
        ({"receipt_no": ""}, "/receipt_no"),
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
    assert collection.store.standing(case.case_id).paid == 0


def test_cash_cannot_have_been_taken_in_the_future(
    api: Any, token: Any, clock: FixedClock, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    later = cash(case, clock, received_at=isoformat(clock.now() + timedelta(minutes=10)))
    response = enter(api, token, later)
    assert response.status_code == 422
    assert "future" in json.loads(response.body)["detail"]
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
