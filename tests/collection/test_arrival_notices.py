"""Telling the creditor of money on the case (案款到账通知): every time money counts on a case
(online, counter cash, a claim) its creditors get one SMS with the amount and what has arrived
in all, or the paid-in-full SMS instead when it completes the case; sent once, retried by the
sweeper, and meeting the case's 5-working-day notice clock when sent."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.cases import Case
from chalicelib.cases.models import OpenCase
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService
from chalicelib.collection.models import NoticeStatus, Payment, StartPayment
from chalicelib.deadlines import ItemClock, LimitKind
from chalicelib.identity.roles import Principal, Role
from chalicelib.notifications import Notification
from chalicelib.wiring import case_service, counter_cash_desk, deadline_service, ledger_service
from chalicelib.workdays import court_date
from tests.cases.factories import DEBTOR_ID, filing
from tests.collection.conftest import (
    card_token,
    foreign_intent,
    open_case,
    outbox_deliveries,
    pay_at_rail,
    rail_event,
    sign,
)
from tests.test_logs_full_scenario import log_output, phone_forms  # noqa: F401 - the capture

ARRIVED = "case.money_arrived"
PAID_IN_FULL = "case.paid_in_full"
CLERK = Principal(subject="clerk-3", name="clerk-3", roles=frozenset({Role.CLERK}))
FINANCE = Principal(subject="finance-7", name="finance-7", roles=frozenset({Role.FINANCE}))


def pay(collection: CollectionService, localstripe: str, account: str, amount: int) -> Payment:
    step = collection.start_payment(
        account, StartPayment(amount=amount, accept_surplus=False), idempotency_key=None
    )
    collection.confirm_card(step.payment.payment_id, card_token(localstripe))
    return collection.payment(step.payment.payment_id)


def notice_clock(transfer_id: str | None) -> ItemClock:
    assert transfer_id is not None
    found = deadline_service().store.clock(LimitKind.NOTICE, transfer_id)
    assert found is not None, f"no notice clock for {transfer_id}"
    return found


def told(outbox: Path) -> list[tuple[str, str]]:
    return [(d.kind, d.address) for d in outbox_deliveries(outbox)]


def test_a_part_payment_tells_the_creditor_what_arrived_and_meets_its_notice_clock(
    collection: CollectionService, localstripe: str, outbox: Path
) -> None:
    case = open_case(amount=10_000)
    first = pay(collection, localstripe, case.account_number, 4_000)

    [message] = outbox_deliveries(outbox)
    assert (message.kind, message.address) == (ARRIVED, case.creditors[0].phone)
    assert message.body == (
        "【佛山市禅城区人民法院】您申请执行的(2026)粤0604执1234号案，"
        "执行款40.00元已到账，累计到账40.00元，法院将依法发放案款。"
    )
    assert case.debtors[0].name not in message.body
    assert first.paid_at is not None
    clock = notice_clock(first.transfer_id)
    assert (clock.amount, clock.met_on) == (4_000, court_date(first.paid_at))
    assert collection.store.pending_notices() == []

    second = pay(collection, localstripe, case.account_number, 2_550)
    latest = outbox_deliveries(outbox)[-1]
    assert (latest.kind, len(outbox_deliveries(outbox))) == (ARRIVED, 2)
    assert "执行款25.50元已到账，累计到账65.50元" in latest.body
    assert notice_clock(second.transfer_id).met_on is not None


def test_the_payment_that_completes_the_case_sends_the_paid_in_full_sms_only(
    collection: CollectionService, localstripe: str, outbox: Path
) -> None:
    case = open_case(amount=10_000)
    pay(collection, localstripe, case.account_number, 3_000)
    last = pay(collection, localstripe, case.account_number, 7_000)

    phone = case.creditors[0].phone
    assert told(outbox) == [(ARRIVED, phone), (PAID_IN_FULL, phone)]
    final = outbox_deliveries(outbox)[-1]
    assert "执行款100.00元已足额到账" in final.body
    assert "累计" not in final.body
    assert last.paid_at is not None
    assert notice_clock(last.transfer_id).met_on == court_date(last.paid_at)


def test_a_duplicate_webhook_or_a_second_settlement_tells_nobody_again(
    api: Any, collection: CollectionService, localstripe: str, clock: FixedClock, outbox: Path
) -> None:
    case = open_case(amount=10_000)
    step = collection.start_payment(
        case.account_number, StartPayment(amount=2_000), idempotency_key=None
    )
    reference = step.payment.rail_reference
    assert reference is not None
    pay_at_rail(localstripe, reference)
    body = rail_event(localstripe, reference, "payment_intent.succeeded")
    headers = sign(body, int(clock.now().timestamp()))

    outcomes = [
        json.loads(api.post("/webhooks/stripe", headers=headers, body=body).body)["outcome"]
        for _ in range(2)
    ]
    assert outcomes == ["posted", "duplicate"]
    assert collection.settle(collection.rail.retrieve(reference)).outcome == "already_posted"
    collection.refresh(step.payment.payment_id)
    assert collection.sweep().notices_sent == 0

    assert told(outbox) == [(ARRIVED, case.creditors[0].phone)]
    assert ledger_service().balance(case.account_number).posted == 2_000


class FailingFor:
    """A notifier whose gateway refuses the first message to ``address``, naming it in its
    error as a real gateway might."""

    def __init__(self, inner: Any, address: str) -> None:
        self.inner = inner
        self.address = address
        self.failed = False

    def notify(self, notification: Notification) -> Any:
        [recipient] = notification.recipients
        if recipient.address == self.address and not self.failed:
            self.failed = True
            raise ConnectionError(f"SMS gateway refused {recipient.address}")
        return self.inner.notify(notification)


def two_creditor_case(amount: int) -> Case:
    """A case with a second creditor, a person with another phone."""
    body = filing(4321, adjudicated_amount=amount)
    body["parties"].insert(
        1,
        {
            "role": "creditor",
            "name": "李四",
            "type": "person",
            "id_number": DEBTOR_ID,
            "phone": "13912340000",
            "receiving_account": {
                "bank_name": "中国建设银行佛山分行",
                "account_name": "李四",
                "account_number": "6217000010001234567",
            },
        },
    )
    return case_service().open(OpenCase.model_validate(body), actor="clerk-1")[0]


@pytest.mark.usefixtures("rail_emptied")
def test_an_arrival_notice_that_failed_stays_pending_and_the_sweeper_tells_only_who_was_missed(
    collection: CollectionService,
    localstripe: str,
    clock: FixedClock,
    outbox: Path,
    log_output: io.StringIO,  # noqa: F811 - the fixture imported above
) -> None:
    case = two_creditor_case(amount=10_000)
    first, second = (party.phone for party in case.creditors)
    flaky = CollectionService(
        collection.store,
        lambda: collection.rail,
        clock,
        cases=case_service(),
        ledger=ledger_service(),
        notifier=FailingFor(wiring.notifier(), second),
        clocks=deadline_service,
    )
    payment = pay(flaky, localstripe, case.account_number, 1_500)

    assert told(outbox) == [(ARRIVED, first)]
    [pending] = collection.store.pending_notices()
    assert (pending.kind, pending.amount, pending.paid) == (ARRIVED, 1_500, 1_500)
    assert pending.status == NoticeStatus.PENDING
    assert notice_clock(payment.transfer_id).met_on is None  # not everyone told yet
    logged = log_output.getvalue()
    assert f"notice {pending.key} not sent to a recipient" in logged
    assert "139****0000" in logged  # the gateway's error was logged, with the number masked
    for form in phone_forms(second):
        assert form not in logged, f"the phone number as {form} is in the log"

    assert flaky.sweep().notices_sent == 1
    assert told(outbox) == [(ARRIVED, first), (ARRIVED, second)]
    assert "执行款15.00元已到账，累计到账15.00元" in outbox_deliveries(outbox)[-1].body
    assert collection.store.pending_notices() == []
    assert notice_clock(payment.transfer_id).met_on is not None
    assert flaky.sweep().notices_sent == 0
    assert len(outbox_deliveries(outbox)) == 2


def counter_cash(case: Case, clock: FixedClock, entry_id: str, amount: int) -> None:
    desk = counter_cash_desk()
    desk.enter(
        id=entry_id,
        account_number=case.account_number,
        amount=amount,
        receipt_no=f"GD-2026-{entry_id}",
        received_at=clock.now() - timedelta(hours=2),
        by=CLERK,
    )
    desk.confirm(entry_id, by=FINANCE)


def test_confirmed_counter_cash_tells_the_creditor_once(
    collection: CollectionService, clock: FixedClock, outbox: Path
) -> None:
    case = open_case(amount=10_000)
    counter_cash(case, clock, "cash-told-1", 3_000)
    # a retried confirmation counts nothing and tells nobody
    counter_cash_desk().confirm("cash-told-1", by=FINANCE)

    [message] = outbox_deliveries(outbox)
    assert (message.kind, message.address) == (ARRIVED, case.creditors[0].phone)
    assert "执行款30.00元已到账，累计到账30.00元" in message.body
    assert notice_clock("cash-told-1").met_on == court_date(clock.now())

    # Cash beyond what is owed, after the case is paid in full, is money arriving too.
    counter_cash(case, clock, "cash-told-2", 7_000)
    counter_cash(case, clock, "cash-told-3", 500)
    assert [kind for kind, _ in told(outbox)] == [ARRIVED, PAID_IN_FULL, ARRIVED]
    assert "执行款5.00元已到账，累计到账105.00元" in outbox_deliveries(outbox)[-1].body
    assert notice_clock("cash-told-3").met_on == court_date(clock.now())


def test_a_confirmed_claim_of_unidentified_money_tells_the_creditor_once(
    collection: CollectionService, localstripe: str, outbox: Path
) -> None:
    case = open_case(serial=4321, amount=10_000)
    pay(collection, localstripe, case.account_number, 1_000)
    reference = foreign_intent(localstripe, 2_500)
    pay_at_rail(localstripe, reference)
    assert collection.settle(collection.rail.retrieve(reference)).outcome == "unidentified"
    assert len(outbox_deliveries(outbox)) == 1  # nobody to tell of money with no case

    claim = {
        "account_number": case.account_number,
        "reason": "付款人来电确认案号",
        "actor": "clerk-5",
        "confirmed_by": "fin-7",
        "confirmer_subject": "fin-7",
    }
    claimed = collection.claim(reference, **claim)
    collection.claim(reference, **claim)

    phone = case.creditors[0].phone
    assert told(outbox) == [(ARRIVED, phone), (ARRIVED, phone)]
    assert "执行款25.00元已到账，累计到账35.00元" in outbox_deliveries(outbox)[-1].body
    assert notice_clock(claimed.claim_transfer_id).met_on is not None
