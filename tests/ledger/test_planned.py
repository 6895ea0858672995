"""A posting planned and committed in the caller's own transaction keeps every guarantee of a
posting: the entries chain and verify, a stale account is caught and planned again, and a
transfer id already taken is reported as such, with nothing written."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib import dynamo
from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService, TransferCode, TransferRequest
from tests.ledger.conftest import CASE_A, CLEARING, collect, new_ledger


def payment(transfer_id: str, amount: int) -> TransferRequest:
    return TransferRequest.between(
        id=transfer_id,
        debit=CLEARING,
        credit=CASE_A,
        amount=amount,
        code=TransferCode.COLLECTION,
        requested_by="collection",
    )


def commit(ledger: LedgerService, items: list[dict[str, Any]]) -> tuple[str, ...] | None:
    """The caller's transaction: None if it committed, else its cancellation reasons."""
    try:
        ledger.store.client.transact_write_items(TransactItems=items)
    except ClientError as error:
        reasons = dynamo.cancellation_reasons(error)
        assert reasons is not None
        return tuple(reasons)
    return None


def test_a_planned_posting_committed_by_its_caller_is_a_posting_like_any_other(
    ledger: LedgerService,
) -> None:
    collect(ledger, CASE_A, 500, "pay-1")
    planned = ledger.plan_transfer(payment("pay-2", 300))
    assert ledger.balance(CASE_A).posted == 500  # planning writes nothing

    assert commit(ledger, planned.items) is None
    planned.committed()

    assert ledger.balance(CASE_A).posted == 800
    assert ledger.get_transfer("pay-2").amount == 300
    report = ledger.verify(CASE_A)
    assert (report.ok, report.entries_checked) == (True, 2)
    collect(ledger, CASE_A, 100, "pay-3")  # the cache holds the committed state
    assert ledger.verify(CASE_A).ok


def test_a_plan_made_stale_by_another_posting_is_cancelled_and_planned_again(
    ledger: LedgerService, aws: Any, clock: FixedClock
) -> None:
    planned = ledger.plan_transfer(payment("pay-mine", 300))
    collect(new_ledger(aws, clock), CASE_A, 200, "pay-theirs")  # another Lambda, meanwhile

    reasons = commit(ledger, planned.items)
    assert reasons is not None
    cancelled = planned.cancelled(reasons)
    assert (cancelled.transfer_exists, CASE_A in cancelled.stale_accounts) == (False, True)

    again = ledger.plan_transfer(payment("pay-mine", 300))
    assert commit(ledger, again.items) is None
    again.committed()
    assert ledger.balance(CASE_A).posted == 500
    assert ledger.verify(CASE_A).ok


def test_a_plan_whose_transfer_id_is_taken_says_so_and_writes_nothing(
    ledger: LedgerService,
) -> None:
    collect(ledger, CASE_A, 400, "pay-once")
    ledger.cache.clear()  # a process that never saw it
    planned = ledger.plan_transfer(payment("pay-once", 400))

    reasons = commit(ledger, planned.items)
    assert reasons is not None
    assert planned.cancelled(reasons).transfer_exists
    assert ledger.balance(CASE_A).posted == 400
    assert ledger.verify(CASE_A).ok
