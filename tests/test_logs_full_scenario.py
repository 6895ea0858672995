"""A whole case through the API with the log captured: filed, paid online, refunded in part,
paid out to the creditor after a claim link, and no personal data in any log line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.collection import CollectionService
from chalicelib.logs import configure
from chalicelib.payouts import PayoutStatus
from tests.cases.factories import CREDITOR_ID, DEBTOR_CREDIT_CODE, filing
from tests.collection.conftest import (  # noqa: F401 - the collection fixtures, shared
    collection,
    localstripe,
    outbox,
    outbox_deliveries,
)
from tests.payouts.conftest import FakeRail
from tests.refunds.conftest import paid_online

PAYEE_ACCOUNT = "6222020200112233445"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything the masking handler writes (what CloudWatch would keep), at every level."""
    handler = configure().logger_handler
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    original = handler.setStream(captured)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.setLevel(level)
        handler.setStream(original)


def post(api: Any, path: str, headers: dict[str, str], body: Any = None) -> Any:
    return api.post(path, headers=headers, body=json.dumps(body or {}, ensure_ascii=False))


def phone_forms(number: str) -> list[str]:
    """A mainland mobile as people and systems write it."""
    a, b, c = number[:3], number[3:7], number[7:]
    return [
        number,
        f"+86{number}",
        f"+86 {a} {b} {c}",
        f"0086{number}",
        f"{a}-{b}-{c}",
        f"{a} {b} {c}",
        f"{b}{c}",  # the last eight digits alone still name the person
    ]


def test_a_whole_case_leaves_no_personal_data_in_the_log(  # noqa: PLR0917 - fixtures
    api: Any,
    token: Any,
    collection: CollectionService,  # noqa: F811
    localstripe: str,  # noqa: F811
    outbox: Any,  # noqa: F811
    log_output: io.StringIO,
) -> None:
    rail = FakeRail()
    wiring.override(payout_rail=rail)
    clerk = token("clerk", subject="clerk-li")
    filed = post(api, "/cases", clerk, filing(4321, adjudicated_amount=20_000))
    assert filed.status_code == 201, filed.body
    case = filed.json_body
    case_id, creditor = case["case_id"], case["parties"][0]["party_id"]

    from chalicelib.wiring import case_service

    payment = paid_online(collection, localstripe, case_service().get(case_id), 20_000)

    asked = post(
        api,
        "/refunds",
        clerk,
        {
            "source_kind": "online",
            "source_reference": payment.payment_id,
            "amount": "15.00",
            "reason_code": "paid_by_mistake",
            "note": "错缴",
        },
    )
    assert asked.status_code == 201, asked.body
    refund_id = asked.json_body["id"]
    post(api, f"/refunds/{refund_id}/submit", clerk)
    post(
        api,
        f"/refunds/{refund_id}/decision",
        token("approver", subject="chief-wang"),
        {"decision": "approve"},
    )
    paid_back = post(
        api,
        f"/refunds/{refund_id}/decision",
        token("finance", subject="fin-1"),
        {"decision": "approve"},
    )
    assert paid_back.json_body["state"] == "paid", paid_back.body

    proposed = post(
        api,
        f"/cases/{case_id}/disbursements",
        clerk,
        {"creditor_party_id": creditor, "amount": 10_000},
    )
    assert proposed.status_code == 201, proposed.body
    d_id = proposed.json_body["disbursement_id"]
    for role, subject in (("approver", "chief-wang"), ("finance", "fin-1")):
        approved = post(api, f"/disbursements/{d_id}/approve", token(role, subject=subject))
        assert approved.status_code == 200, approved.body
    codes = [
        d.body.split("/claim#", 1)[1].split()[0]
        for d in outbox_deliveries(outbox)
        if d.kind == "payout.claim_link"
    ]
    assert codes
    looked_up = post(
        api, "/claims/lookup", {"Content-Type": "application/json"}, {"code": codes[0]}
    )
    assert looked_up.status_code == 200, looked_up.body
    asked_release = post(
        api,
        f"/disbursements/{d_id}/staff-release",
        token("finance", subject="fin-1"),
        {"reason": "单位债权人，无法刷脸"},
    )
    assert asked_release.status_code == 200, asked_release.body
    # the staff-release chain: the bureau chief, then a second member of finance sends it
    for role, subject in (("approver", "chief-wang"), ("finance", "fin-2")):
        sent = post(
            api, f"/disbursements/{d_id}/staff-release/confirm", token(role, subject=subject)
        )
        assert sent.status_code == 200, sent.body
    key = next(iter(rail.payouts))
    rail.set_status(key, PayoutStatus.PAID)
    notice = json.dumps({"id": "evt_paid", "type": "x", "reference": rail.payouts[key].reference})
    assert api.post("/webhooks/stripe/payouts", body=notice, headers={}).status_code == 200

    # A mistyped claim code and a forged token are logged as refusals, never as themselves.
    post(
        api, "/claims/lookup", {"Content-Type": "application/json"}, {"code": codes[0][:-2] + "zz"}
    )
    forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    api.get("/cases", headers={"Authorization": f"Bearer {forged}"})

    output = log_output.getvalue()
    assert output.count("\n") > 10, "the scenario logged nothing: the capture is not working"
    parties = list(filing(4321)["parties"])
    secrets = {
        "the creditor's ID number": CREDITOR_ID,
        "the debtor's credit code": DEBTOR_CREDIT_CODE,
        "the payee's bank account": PAYEE_ACCOUNT,
        "the claim code": codes[0],
        "a staff token": clerk["Authorization"].removeprefix("Bearer "),
        "a forged token": forged,
    }
    for party in parties:
        for form in phone_forms(party["phone"]):
            secrets[f"a phone number as {form}"] = form
    for what, value in secrets.items():
        assert value not in output, f"{what} is in the log"
    # the payee's account by its digits, however it was grouped
    assert PAYEE_ACCOUNT not in re.sub(r"[ -]", "", output)
