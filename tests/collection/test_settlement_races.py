"""Two payments of one case settling at the same moment: the loser of the race reads again and
retries, so the case standing adds both and receipt numbers stay unique and gapless."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.collection import CollectionBusy, CollectionService, PaymentStatus, RailPayment
from chalicelib.collection.models import CHINA_TIME, StartPayment
from chalicelib.collection.store import Contended
from chalicelib.retry import invocation_deadline
from chalicelib.wiring import ledger_service
from tests.collection.conftest import open_case, pay_at_rail


def succeeded_at_rail(
    collection: CollectionService, localstripe: str, account: str, amount: int
) -> tuple[str, RailPayment]:
    step = collection.start_payment(account, StartPayment(amount=amount), idempotency_key=None)
    assert step.payment.rail_reference is not None
    pay_at_rail(localstripe, step.payment.rail_reference)
    return step.payment.payment_id, collection.rail.retrieve(step.payment.rail_reference)


def test_payment_that_loses_the_race_is_retried_and_both_count(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case(amount=10_000)
    first_id, first = succeeded_at_rail(collection, localstripe, case.account_number, 1_000)
    second_id, second = succeeded_at_rail(collection, localstripe, case.account_number, 2_000)
    commit = collection.store.commit_settlement
    raced: list[bool] = []

    def other_payment_gets_there_first(*args: Any, **kwargs: Any) -> bool:
        if not raced:
            raced.append(True)
            assert collection.settle(second).outcome == "posted"
        return commit(*args, **kwargs)

    monkeypatch.setattr(collection.store, "commit_settlement", other_payment_gets_there_first)
    assert collection.settle(first).outcome == "posted"

    standing = collection.store.standing(case.case_id)
    assert (standing.paid, standing.payments, standing.version) == (3_000, 2, 2)
    numbers = {collection.payment(p).receipt_number for p in (first_id, second_id)}
    year = wiring.clock().now().astimezone(CHINA_TIME).year
    assert numbers == {f"粤0604-{year}-0000001", f"粤0604-{year}-0000002"}
    assert ledger_service().balance(case.account_number).posted == 3_000


def test_endless_contention_gives_up_with_a_retryable_error_and_posts_once(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case(amount=10_000)
    payment_id, current = succeeded_at_rail(collection, localstripe, case.account_number, 1_000)

    def always_contended(*args: Any, **kwargs: Any) -> bool:
        raise Contended("another writer")

    monkeypatch.setattr(collection.store, "commit_settlement", always_contended)
    with pytest.raises(CollectionBusy):
        collection.settle(current)
    monkeypatch.undo()

    assert collection.settle(current).outcome == "posted"
    assert collection.payment(payment_id).status.display == "paid"
    assert ledger_service().balance(case.account_number).posted == 1_000


def test_contention_near_the_end_of_the_invocation_answers_busy_at_once(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = open_case(amount=10_000)
    _, current = succeeded_at_rail(collection, localstripe, case.account_number, 1_000)
    tried: list[bool] = []

    def always_contended(*args: Any, **kwargs: Any) -> bool:
        tried.append(True)
        raise Contended("another writer")

    monkeypatch.setattr(collection.store, "commit_settlement", always_contended)
    with invocation_deadline(1.0), pytest.raises(CollectionBusy):
        collection.settle(current)  # one second left: no wait fits before the reserve
    assert len(tried) == 1
    monkeypatch.undo()

    assert collection.settle(current).outcome == "posted"
    assert ledger_service().balance(case.account_number).posted == 1_000


class ConflictOnce:
    """The DynamoDB client, except that the first TransactWriteItems is cancelled the way
    DynamoDB cancels a transaction that met another one on the same item (moto never does)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.conflicts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self.conflicts == 0:
            self.conflicts += 1
            reasons = [{"Code": "None"}, {"Code": "TransactionConflict"}]
            reasons += [{"Code": "None"}] * (len(kwargs["TransactItems"]) - 2)
            raise self._client.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return self._client.transact_write_items(**kwargs)


def test_transaction_conflict_with_another_writer_is_retried_not_an_error(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook and the payer's page settling one payment at once: DynamoDB cancels one
    transaction with TransactionConflict. That is a race to retry, not a 500 for the page."""
    case = open_case(amount=10_000)
    payment_id, current = succeeded_at_rail(collection, localstripe, case.account_number, 1_500)
    flaky = ConflictOnce(collection.store._db)
    monkeypatch.setattr(collection.store, "_db", flaky)

    assert collection.settle(current).outcome == "posted"
    assert flaky.conflicts == 1
    assert collection.payment(payment_id).status.display == "paid"
    assert collection.store.standing(case.case_id).paid == 1_500
    assert ledger_service().balance(case.account_number).posted == 1_500


class ItemInTransaction:
    """The DynamoDB client, except that the first UpdateItem meets an item that a settlement
    transaction holds, as DynamoDB answers then (TransactionConflictException)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.conflicts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **kwargs: Any) -> Any:
        if self.conflicts == 0:
            self.conflicts += 1
            raise self._client.exceptions.TransactionConflictException(
                {"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}},
                "UpdateItem",
            )
        return self._client.update_item(**kwargs)


def test_status_update_meeting_a_settlement_in_progress_reads_the_payment_again(
    collection: CollectionService, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's poll moves a payment on while the webhook's settlement holds it: that is
    a lost race to read again, not a 500 that stops the receipt page following the payment."""
    case = open_case(amount=10_000)
    step = collection.start_payment(
        case.account_number, StartPayment(amount=800), idempotency_key=None
    )
    flaky = ItemInTransaction(collection.store._db)
    monkeypatch.setattr(collection.store, "_db", flaky)

    moved = collection.store.save_payment(
        step.payment.model_copy(update={"status": PaymentStatus.PROCESSING}),
        from_statuses={PaymentStatus.AWAITING_METHOD},
    )

    assert (moved, flaky.conflicts) == (False, 1)
    assert collection.payment(step.payment.payment_id).status == PaymentStatus.AWAITING_METHOD
