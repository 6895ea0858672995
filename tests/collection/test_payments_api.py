"""The payer's API: what a case shows, starting and confirming payments, receipts, and every
kind of bad input getting a clear answer with nothing posted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.cases import CaseStatus
from chalicelib.cases.identifiers import make_account_number
from chalicelib.collection import CollectionService
from chalicelib.wiring import case_service, ledger_service
from tests.collection.conftest import (
    NEEDS_3DS,
    card_token,
    open_case,
    outbox_deliveries,
    pay_at_rail,
)

JSON = {"Content-Type": "application/json"}


def start(api: Any, account: str, body: Any, key: str | None = None) -> Any:
    headers = JSON | ({"Idempotency-Key": key} if key else {})
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.post(f"/collection/cases/{account}/payments", headers=headers, body=raw)


def confirm(api: Any, payment_id: str, localstripe: str, number: str | None = None) -> Any:
    token = card_token(localstripe, number) if number else card_token(localstripe)
    return api.post(
        f"/collection/payments/{payment_id}/card",
        headers=JSON,
        body=json.dumps({"card_token": token}),
    )


def pay(api: Any, account: str, amount: Any, localstripe: str, **extra: Any) -> dict[str, Any]:
    started = start(api, account, {"amount": amount, **extra})
    assert started.status_code == 201, started.body
    payment_id = json.loads(started.body)["payment"]["payment_id"]
    confirmed = confirm(api, payment_id, localstripe)
    assert confirmed.status_code == 200, confirmed.body
    return dict(json.loads(confirmed.body)["payment"])


def problem(answer: Any) -> dict[str, Any]:
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    return dict(json.loads(answer.body))


def test_case_overview_shows_what_a_payer_needs_only(
    api: Any, collection: CollectionService
) -> None:
    case = open_case(amount=12_345)
    answer = api.get(f"/collection/cases/{case.account_number}")

    assert answer.status_code == 200
    view = json.loads(answer.body)
    assert set(view) == {
        "court_name",
        "case_number_masked",
        "account_number",
        "account_number_display",
        "remaining",
        "accepts_payments",
        "paid_in_full",
    }
    assert view["case_number_masked"] == "(2026)粤0604执**34号"
    assert view["court_name"] == "佛山市禅城区人民法院"
    assert view["account_number_display"] == " ".join(
        case.account_number[i : i + 4] for i in range(0, 16, 4)
    )
    assert view["remaining"] == {"fen": 12_345, "yuan": "123.45", "currency": "CNY"}
    assert view["accepts_payments"] is True
    assert case.case_number not in answer.body.decode()
    for party in case.parties:
        for personal in (party.name, party.id_number, party.phone):
            assert personal not in answer.body.decode()


def test_account_number_typed_in_groups_finds_the_case(
    api: Any, collection: CollectionService
) -> None:
    case = open_case()
    grouped = "-".join(case.account_number[i : i + 4] for i in range(0, 16, 4))
    answer = api.get(f"/collection/cases/{grouped}")
    assert answer.status_code == 200
    assert json.loads(answer.body)["account_number"] == case.account_number


def test_mistyped_account_number_is_refused_by_its_check_digit(
    api: Any, collection: CollectionService
) -> None:
    case = open_case()
    wrong = case.account_number[:-1] + str((int(case.account_number[-1]) + 1) % 10)
    answer = api.get(f"/collection/cases/{wrong}")

    assert answer.status_code == 422
    assert problem(answer)["type"].endswith("cases/invalid-account-number")
    assert start(api, wrong, {"amount": 100}).status_code == 422


def test_unknown_case_is_not_found(api: Any, collection: CollectionService) -> None:
    nobodys = make_account_number("粤0604", 2026, 9_999_999)
    answer = start(api, nobodys, {"amount": 100})
    assert answer.status_code == 404
    assert problem(answer)["type"].endswith("cases/not-found")


@pytest.mark.parametrize("status", [CaseStatus.CONCLUDED, CaseStatus.SUSPENDED])
def test_case_that_is_not_open_takes_no_payment(
    api: Any, collection: CollectionService, status: CaseStatus
) -> None:
    case = open_case()
    case_service().change_status(case.case_id, status, reason="执行完毕", actor="clerk-1")

    assert (
        json.loads(api.get(f"/collection/cases/{case.account_number}").body)["accepts_payments"]
        is False
    )
    answer = start(api, case.account_number, {"amount": 100})
    assert answer.status_code == 409
    assert problem(answer)["type"].endswith("collection/case-not-payable")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": 0}',
        b'{"amount": -500}',
        b'{"amount": 12.5}',
        b'{"amount": "12.345"}',
        b'{"amount": "abc"}',
        b'{"amount": true}',
        b'{"amount": 1e3}',
        b'{"amount": "-1.00"}',
        b"{}",
        b'{"amount": 100, "currency": "USD"}',
    ],
    ids=[
        "zero",
        "negative",
        "fractional-number",
        "three-decimals",
        "text",
        "boolean",
        "exponent",
        "negative-text",
        "missing",
        "unknown-field",
    ],
)
def test_bad_amount_is_refused_and_nothing_is_started(
    api: Any, collection: CollectionService, raw: bytes
) -> None:
    case = open_case()
    answer = start(api, case.account_number, raw)

    assert answer.status_code == 422, answer.body
    assert problem(answer)["errors"]
    assert collection.store.payments_of_case(case.case_id) == []


def test_amount_above_what_remains_needs_the_payer_to_confirm_a_surplus(
    api: Any, collection: CollectionService
) -> None:
    case = open_case(amount=10_000)
    answer = start(api, case.account_number, {"amount": "100.01"})

    assert answer.status_code == 422
    refused = problem(answer)
    assert refused["type"].endswith("collection/amount-refused")
    assert refused["remaining"] == 10_000


def test_surplus_is_flagged_and_offered_as_a_draft_refund(
    api: Any, token: Any, collection: CollectionService, localstripe: str, outbox: Any
) -> None:
    case = open_case(amount=10_000)
    pay(api, case.account_number, "60.00", localstripe)
    paid = pay(api, case.account_number, "70.00", localstripe, accept_surplus=True)

    assert paid["display_status"] == "paid"
    view = json.loads(api.get(f"/cases/{case.case_id}/standing", headers=token("finance")).body)
    assert view["paid"]["fen"] == 13_000
    assert view["remaining"]["fen"] == 0
    assert view["surplus"]["fen"] == 3_000
    [draft] = json.loads(api.get("/collection/surplus-drafts", headers=token("approver")).body)[
        "items"
    ]
    assert (draft["case_id"], draft["amount"], draft["status"]) == (case.case_id, 3_000, "draft")
    assert ledger_service().balance(case.account_number).posted == 13_000
    # told of the first part, then once that the case is paid in full (not of the surplus)
    assert [d.kind for d in outbox_deliveries(outbox)] == [
        "case.money_arrived",
        "case.paid_in_full",
    ]


def test_instalments_add_up_and_the_creditor_is_told_of_each_and_of_paid_in_full_once(
    api: Any, token: Any, collection: CollectionService, localstripe: str, outbox: Any
) -> None:
    case = open_case(amount=10_000)
    receipts = [
        pay(api, case.account_number, amount, localstripe)["receipt_number"]
        for amount in (2_500, "25.00", 5_000)
    ]

    assert len(set(receipts)) == 3
    assert [int(r.rsplit("-", 1)[1]) for r in receipts] == [1, 2, 3]  # gapless per court
    view = json.loads(api.get(f"/cases/{case.case_id}/standing", headers=token("finance")).body)
    assert (view["paid"]["fen"], view["remaining"]["fen"], view["paid_in_full"]) == (
        10_000,
        0,
        True,
    )
    messages = outbox_deliveries(outbox)
    assert [(m.kind, m.address) for m in messages] == [
        ("case.money_arrived", case.creditors[0].phone),
        ("case.money_arrived", case.creditors[0].phone),
        ("case.paid_in_full", case.creditors[0].phone),
    ]
    first, second, full = (m.body for m in messages)
    assert "执行款25.00元已到账，累计到账25.00元" in first
    assert "执行款25.00元已到账，累计到账50.00元" in second
    assert "100.00元已足额到账" in full
    assert all(case.debtors[0].name not in m.body for m in messages)


def test_same_idempotency_key_opens_one_payment(
    api: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case()
    first = start(
        api, case.account_number, {"amount": 500}, key="3f0c8a52-9d1e-4b7a-8e41-7d41e9b6c0aa"
    )
    again = start(
        api, case.account_number, {"amount": 500}, key="3f0c8a52-9d1e-4b7a-8e41-7d41e9b6c0aa"
    )

    assert first.status_code == again.status_code == 201
    one, two = json.loads(first.body), json.loads(again.body)
    assert one["payment"]["payment_id"] == two["payment"]["payment_id"]
    assert one["payment"]["payment_reference"] == two["payment"]["payment_reference"]
    assert one["client_secret"] == two["client_secret"]
    assert len(collection.store.payments_of_case(case.case_id)) == 1


def test_idempotency_key_reused_for_another_amount_is_a_conflict(
    api: Any, collection: CollectionService
) -> None:
    case = open_case()
    start(api, case.account_number, {"amount": 500}, key="9b2d7e10-5c2a-4f0e-a58a-c58a1f34d2b1")
    answer = start(
        api, case.account_number, {"amount": 600}, key="9b2d7e10-5c2a-4f0e-a58a-c58a1f34d2b1"
    )

    assert answer.status_code == 409
    assert problem(answer)["type"].endswith("collection/payment-conflict")


def test_malformed_idempotency_key_is_refused(api: Any, collection: CollectionService) -> None:
    case = open_case()
    assert start(api, case.account_number, {"amount": 500}, key="x").status_code == 400


@pytest.mark.parametrize(
    "key",
    [
        "12345678",
        "attempt-0001",
        "aaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # long but not a UUID
        "3f0c8a52-9d1e-1b7a-8e41-7d41e9b6c0aa",  # a time-based UUID, not a random one
    ],
)
def test_idempotency_key_short_enough_to_guess_is_refused(
    api: Any, collection: CollectionService, key: str
) -> None:
    """The payment id is derived from the public account number and the key, and a replay
    hands back the payment and its client secret: a guessable key would let a stranger reach
    another payer's payment. Keys must be random: a version 4 UUID."""
    case = open_case()
    answer = start(api, case.account_number, {"amount": 500}, key=key)

    assert answer.status_code == 400
    assert problem(answer)["type"].endswith("bad-request")
    assert collection.store.payments_of_case(case.case_id) == []


def test_paid_payment_cannot_be_charged_again(
    api: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case()
    paid = pay(api, case.account_number, 500, localstripe)
    again = confirm(api, paid["payment_id"], localstripe)

    assert again.status_code == 409
    assert ledger_service().balance(case.account_number).posted == 500


def test_card_needing_3d_secure_hands_the_page_a_client_secret(
    api: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case()
    started = json.loads(start(api, case.account_number, {"amount": 900}).body)
    answer = confirm(api, started["payment"]["payment_id"], localstripe, NEEDS_3DS)

    body = json.loads(answer.body)
    assert body["payment"]["status"] == "requires_action"
    assert body["payment"]["display_status"] == "processing"
    assert body["client_secret"].startswith(body["payment"]["payment_reference"])


def test_status_follows_the_rail_without_a_webhook(
    api: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case()
    started = json.loads(start(api, case.account_number, {"amount": 700}).body)["payment"]
    assert (
        json.loads(api.get(f"/collection/payments/{started['payment_id']}").body)["display_status"]
        == "unpaid"
    )
    pay_at_rail(localstripe, started["payment_reference"])

    view = json.loads(api.get(f"/collection/payments/{started['payment_id']}").body)
    assert view["display_status"] == "paid"
    assert view["receipt_number"]
    assert ledger_service().balance(case.account_number).posted == 700


def test_receipt_pdf_in_chinese_and_english_once_paid(
    api: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case()
    started = json.loads(start(api, case.account_number, {"amount": 800}).body)["payment"]
    early = api.get(f"/collection/payments/{started['payment_id']}/receipt.pdf")
    assert early.status_code == 409

    paid = pay(api, case.account_number, 800, localstripe)
    for lang in ("zh", "en"):
        pdf = api.get(f"{paid['receipt_pdf'][lang]}", headers={"Accept": "application/pdf"})
        assert pdf.status_code == 200
        assert pdf.headers["Content-Type"] == "application/pdf"
        assert pdf.body.startswith(b"%PDF")
        assert b"/FontFile2" in pdf.body  # the CJK font is embedded, not left to the reader
        assert pdf.headers["Cache-Control"] == "no-store"  # it names the case and the amount
    assert api.get(paid["receipt_pdf"]["zh"].replace("zh", "fr")).status_code == 422


def test_unknown_payment_is_not_found(api: Any, collection: CollectionService) -> None:
    answer = api.get("/collection/payments/pay_000000000000000000000000")
    assert answer.status_code == 404
    assert problem(answer)["type"].endswith("collection/payment-not-found")


def test_staff_see_a_cases_payments(
    api: Any, token: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case()
    pay(api, case.account_number, 300, localstripe)
    answer = api.get(f"/cases/{case.case_id}/payments", headers=token("auditor"))

    [payment] = json.loads(answer.body)["payments"]
    assert (payment["amount"]["fen"], payment["display_status"]) == (300, "paid")


def test_second_tab_paying_what_another_payment_already_paid_is_refused_before_the_charge(
    api: Any, collection: CollectionService, localstripe: str
) -> None:
    """Two pay pages opened on one case each start paying the whole remainder. Once the first
    is paid, charging the second would overpay without the payer ever having been warned."""
    case = open_case(amount=10_000)
    first = json.loads(start(api, case.account_number, {"amount": 10_000}).body)["payment"]
    second = json.loads(start(api, case.account_number, {"amount": 10_000}).body)["payment"]
    assert confirm(api, first["payment_id"], localstripe).status_code == 200

    answer = confirm(api, second["payment_id"], localstripe)

    assert answer.status_code == 422
    refused = problem(answer)
    assert refused["type"].endswith("collection/amount-refused")
    assert refused["remaining"] == 0
    assert collection.payment(second["payment_id"]).status.display == "unpaid"
    assert collection.rail.retrieve(second["payment_reference"]).status == "awaiting_method"
    assert ledger_service().balance(case.account_number).posted == 10_000


def test_overpayment_the_payer_confirmed_is_charged_even_after_another_payment(
    api: Any, collection: CollectionService, localstripe: str
) -> None:
    case = open_case(amount=10_000)
    first = json.loads(start(api, case.account_number, {"amount": 6_000}).body)["payment"]
    meant = start(api, case.account_number, {"amount": 12_000, "accept_surplus": True})
    second = json.loads(meant.body)["payment"]
    assert confirm(api, first["payment_id"], localstripe).status_code == 200

    assert confirm(api, second["payment_id"], localstripe).status_code == 200
    assert ledger_service().balance(case.account_number).posted == 18_000
