"""A succeeded payment is posted and recorded in one TransactWriteItems: the ledger transfer,
the payment it settles, the case's standing and receipt number, the creditors' notice and its
clock commit together or not at all, and a second settlement finds the transfer id taken."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.collection import CollectionService
from chalicelib.collection.models import PaymentStatus, StartPayment
from chalicelib.collection.rail import RailPayment
from chalicelib.deadlines import LimitKind
from chalicelib.ledger import postings
from chalicelib.wiring import deadline_service, ledger_service, settings
from tests.collection.conftest import open_case, pay_at_rail


def succeeded_at_rail(
    collection: CollectionService, localstripe: str, account: str, amount: int
) -> tuple[str, RailPayment]:
    step = collection.start_payment(account, StartPayment(amount=amount), idempotency_key=None)
    assert step.payment.rail_reference is not None
    pay_at_rail(localstripe, step.payment.rail_reference)
    return step.payment.payment_id, collection.rail.retrieve(step.payment.rail_reference)


class Transactions:
    """The DynamoDB client, counting each TransactWriteItems and the tables it wrote, and
    failing the next one if asked (a timeout: nothing of it was written)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.tables: list[set[str]] = []
        self.fail_next = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        items = kwargs["TransactItems"]
        self.tables.append({next(iter(item.values()))["TableName"] for item in items})
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the function timed out")
        return self._client.transact_write_items(**kwargs)


def test_a_payment_is_posted_counted_and_clocked_in_one_transaction(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case(amount=10_000)
    payment_id, current = succeeded_at_rail(collection, localstripe, case.account_number, 1_200)
    spy = Transactions(collection.store._db)
    monkeypatch.setattr(collection.store, "_db", spy)

    assert collection.settle(current).outcome == "posted"

    config = settings()
    assert spy.tables == [{config.ledger_table, config.collection_table, config.oversight_table}]
    paid = collection.payment(payment_id)
    assert paid.status == PaymentStatus.SUCCEEDED
    assert ledger_service().balance(case.account_number).posted == 1_200
    assert paid.transfer_id is not None
    assert deadline_service().store.clock(LimitKind.NOTICE, paid.transfer_id) is not None


def test_a_settlement_whose_transaction_fails_moves_nothing_and_its_retry_posts_once(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case(amount=10_000)
    payment_id, current = succeeded_at_rail(collection, localstripe, case.account_number, 900)
    spy = Transactions(collection.store._db)
    spy.fail_next = True
    monkeypatch.setattr(collection.store, "_db", spy)

    with pytest.raises(ConnectionError):
        collection.settle(current)

    # no half: neither the money on the case nor the payment's record nor its clock
    assert ledger_service().balance(case.account_number).posted == 0
    assert collection.payment(payment_id).status != PaymentStatus.SUCCEEDED
    assert collection.store.standing(case.case_id).paid == 0
    transfer_id = postings.rail_transfer_id("stripe", current.reference)
    assert deadline_service().store.clock(LimitKind.NOTICE, transfer_id) is None

    assert collection.settle(current).outcome == "posted"
    assert collection.settle(current).outcome == "already_posted"
    assert ledger_service().balance(case.account_number).posted == 900
    assert collection.store.standing(case.case_id).payments == 1


def test_a_second_settlement_in_flight_finds_the_transfer_taken_and_answers_the_first(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook and the payer's page settle one payment at once: the one that commits
    second finds the payment settled and the transfer id taken, and answers what the first
    did, without posting or counting again."""
    case = open_case(amount=10_000)
    payment_id, current = succeeded_at_rail(collection, localstripe, case.account_number, 700)
    commit = collection.store.commit_settlement
    first: list[str] = []

    def the_other_commits_first(*args: Any, **kwargs: Any) -> bool:
        if not first:
            first.append("in flight")
            first[0] = collection.settle(current).outcome
        return commit(*args, **kwargs)

    monkeypatch.setattr(collection.store, "commit_settlement", the_other_commits_first)
    second = collection.settle(current)

    assert (first, second.outcome) == (["posted"], "already_posted")
    assert second.payment is not None
    assert second.payment.receipt_number == collection.payment(payment_id).receipt_number
    assert ledger_service().balance(case.account_number).posted == 700
    assert collection.store.standing(case.case_id).payments == 1


def test_a_transfer_posted_before_its_record_is_recorded_without_posting_it_again(
    collection: CollectionService, localstripe: str
) -> None:
    """Money a settlement posted and never recorded (a crash when posting and record were two
    transactions) is recorded and counted by the next settlement, and posted only once."""
    case = open_case(amount=10_000)
    payment_id, current = succeeded_at_rail(collection, localstripe, case.account_number, 1_100)
    ledger = ledger_service()
    ledger.transfer(
        postings.rail_collection(
            rail="stripe",
            reference=current.reference,
            account=case.account_number,
            amount=1_100,
            currency="CNY",
            payment_id=payment_id,
            case_id=case.case_id,
        )
    )

    assert collection.settle(current).outcome == "posted"

    assert ledger.balance(case.account_number).posted == 1_100
    paid = collection.payment(payment_id)
    assert (paid.status, paid.transfer_id) == (
        PaymentStatus.SUCCEEDED,
        postings.rail_transfer_id("stripe", current.reference),
    )
    assert collection.store.standing(case.case_id).paid == 1_100
