"""Review findings: verify on a live account, the sweeper's isolation, forged account flags."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.dynamo import to_item
from chalicelib.ledger import (
    BreakKind,
    ConcurrencyExhausted,
    IdempotencyConflict,
    InvalidQuery,
    InvalidTransfer,
    LedgerError,
    LedgerService,
    PendingState,
    TransferCode,
    TransferRequest,
)
from chalicelib.ledger.items import account_pk, entry_sk, state_item_values
from chalicelib.ledger.models import GENESIS_HASH, Counters
from tests.ledger.conftest import CASE_A, collect, disburse, new_ledger


def test_verify_of_an_account_posted_to_while_it_reads_is_ok(
    ledger: LedgerService, aws: Any, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another Lambda posts right after verify's first read (of the entries or of the account
    state, whichever comes first): that is no tampering, and verify must not report a break."""
    for n in range(3):
        collect(ledger, CASE_A, 100, f"pay-{n}")
    rival = new_ledger(aws, clock)
    posted: list[str] = []

    def then_a_rival_posts(read: Any) -> Any:
        def wrapped(*args: Any) -> Any:
            found = read(*args)
            if not posted:
                posted.append(collect(rival, CASE_A, 100, "pay-meanwhile").id)
            return found

        return wrapped

    for name in ("entries", "audit_entries", "account_state"):
        monkeypatch.setattr(ledger.store, name, then_a_rival_posts(getattr(ledger.store, name)))
    report = ledger.verify(CASE_A)
    assert posted
    assert report.ok, report.first_break
    monkeypatch.undo()
    report = ledger.verify(CASE_A)
    assert (report.ok, report.entries_checked) == (True, 4)


def test_verify_still_finds_an_entry_inserted_past_the_account_state(
    ledger: LedgerService,
) -> None:
    collect(ledger, CASE_A, 100, "pay-1")
    key = {"pk": {"S": account_pk(CASE_A)}, "sk": {"S": entry_sk(1)}}
    item = ledger.store.client.get_item(TableName=ledger.store.table, Key=key)["Item"]
    ledger.store.client.put_item(
        TableName=ledger.store.table, Item={**item, "sk": {"S": entry_sk(2)}}
    )
    report = ledger.verify(CASE_A)
    assert report.first_break is not None
    assert report.first_break.seq == 2


def test_one_bad_pending_does_not_stop_the_sweep(ledger: LedgerService, clock: FixedClock) -> None:
    """The expiry of one pending transfer cannot be posted (its resolution id was taken):
    the sweeper still releases every other reservation that is due."""
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 300, "a-out", pending=True, timeout_seconds=60)
    disburse(ledger, CASE_A, 300, "b-out", pending=True, timeout_seconds=60)
    collect(ledger, CASE_A, 1, "a-out:expired")  # the id the sweeper would use, taken
    clock.advance(timedelta(seconds=61))
    assert ledger.expire_pending() == 1
    assert ledger.get_transfer("b-out").state == PendingState.EXPIRED
    assert ledger.balance(CASE_A).available == 1001 - 300


def _rewrite_state(ledger: LedgerService, change: dict[str, Any]) -> None:
    key = {"pk": {"S": account_pk(CASE_A)}, "sk": {"S": "STATE"}}
    item = ledger.store.client.get_item(TableName=ledger.store.table, Key=key)["Item"]
    body = json.loads(item["body"]["S"])
    body["account"].update(change)
    item["body"] = {"S": json.dumps(body)}
    ledger.store.client.put_item(TableName=ledger.store.table, Item=item)


def test_verify_finds_a_case_account_forged_to_allow_overdraft(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 100, "pay-1")
    _rewrite_state(ledger, {"no_overdraft": False})
    report = new_ledger(ledger.store.client, FixedClock(ledger._clock.now())).verify(CASE_A)
    assert not report.ok
    assert report.first_break is not None
    assert report.first_break.kind == BreakKind.STATE


def test_verify_finds_a_case_account_below_zero(ledger: LedgerService) -> None:
    """With the guard switched off by a forged state, an overdraft posts with a valid chain
    and valid transfer records; verify still refuses the account."""
    collect(ledger, CASE_A, 100, "pay-1")
    _rewrite_state(ledger, {"no_overdraft": False})
    ledger.cache.forget([CASE_A])
    disburse(ledger, CASE_A, 500, "out-1")
    _rewrite_state(ledger, {"no_overdraft": True})
    report = ledger.verify(CASE_A)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.BALANCE)


def test_verify_reports_an_unreadable_entry_as_changed(ledger: LedgerService) -> None:
    for n in range(3):
        collect(ledger, CASE_A, 100, f"pay-{n}")
    key = {"pk": {"S": account_pk(CASE_A)}, "sk": {"S": entry_sk(2)}}
    item = ledger.store.client.get_item(TableName=ledger.store.table, Key=key)["Item"]
    for body in ('{"not": "an entry"}', "not json"):
        item["body"] = {"S": body}
        ledger.store.client.put_item(TableName=ledger.store.table, Item=item)
        report = ledger.verify(CASE_A)
        assert report.first_break is not None
        assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.CHANGED)
        assert report.entries_checked == 1


def test_a_reversal_with_a_malformed_id_is_an_invalid_transfer(ledger: LedgerService) -> None:
    """Not a bare pydantic error, which the routes would answer with a 500."""
    collect(ledger, CASE_A, 100, "pay-1")
    with pytest.raises(InvalidTransfer):
        ledger.reverse("pay-1", id="not an id!", requested_by="finance-1", reason="duplicate")


def test_verify_finds_an_entry_relabelled_and_rehashed(ledger: LedgerService) -> None:
    """An entry's code (why money moved) is changed and the whole chain re-hashed: the entry
    no longer matches its transfer record."""
    collect(ledger, CASE_A, 100, "pay-1")
    collect(ledger, CASE_A, 100, "pay-2")
    store = ledger.store
    prev_hash = GENESIS_HASH
    for seq, original in store.entries(CASE_A):
        update: dict[str, Any] = {"prev_hash": prev_hash}
        if seq == 1:
            update["code"] = TransferCode.CORRECTION
        forged = original.model_copy(update=update).sealed()
        prev_hash = forged.hash
        store.client.put_item(
            TableName=store.table, Item=store.new_entry_item(forged)["Put"]["Item"]
        )
    state = store.account_state(CASE_A)
    assert state is not None
    store.client.put_item(
        TableName=store.table,
        Item={
            "pk": {"S": account_pk(CASE_A)},
            "sk": {"S": "STATE"},
            **to_item(state_item_values(state.model_copy(update={"head_hash": prev_hash}))),
        },
    )
    report = ledger.verify(CASE_A)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (1, BreakKind.TRANSFER)


def test_verify_finds_an_entry_not_stored_in_its_canonical_form(ledger: LedgerService) -> None:
    """The stored body is the text the hash covers, byte for byte; an auditor hashing what is
    stored must get the stored hash."""
    collect(ledger, CASE_A, 100, "pay-1")
    key = {"pk": {"S": account_pk(CASE_A)}, "sk": {"S": entry_sk(1)}}
    item = ledger.store.client.get_item(TableName=ledger.store.table, Key=key)["Item"]
    item["body"] = {"S": json.dumps(json.loads(item["body"]["S"]), indent=1)}
    ledger.store.client.put_item(TableName=ledger.store.table, Item=item)
    report = ledger.verify(CASE_A)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (1, BreakKind.CHANGED)


def test_a_statement_cursor_from_another_window_is_refused(
    ledger: LedgerService, clock: FixedClock
) -> None:
    """DynamoDB refuses a start key outside the key condition with a ValidationException (a
    500 here); the ledger says plainly that the cursor does not belong to this query."""
    start = clock.now()
    for n in range(3):
        collect(ledger, CASE_A, 100, f"pay-{n}")
        clock.advance(timedelta(days=1))
    first = ledger.statement(CASE_A, start=start, end=clock.now(), limit=2)
    assert first.next_cursor
    later = clock.now() + timedelta(days=10)
    with pytest.raises(InvalidQuery, match="cursor"):
        ledger.statement(
            CASE_A, start=later, end=later + timedelta(days=1), cursor=first.next_cursor
        )
    rest = ledger.statement(CASE_A, start=start, end=clock.now(), limit=2, cursor=first.next_cursor)
    assert [line.transfer_id for line in rest.lines] == ["pay-2"]


def test_no_transaction_names_one_item_twice(ledger: LedgerService) -> None:
    """DynamoDB refuses a TransactWriteItems with two operations on one item (a
    ValidationException, a 500 here; moto does not check). A resolution under the pending
    transfer's own id would do that: it is a reused id, a conflict."""
    store = ledger.store
    real_commit = store.commit

    def checked_commit(items: list[dict[str, Any]]) -> None:
        keys = [
            (op["Key"] if "Key" in op else {k: op["Item"][k] for k in ("pk", "sk")})
            for item in items
            for op in item.values()
        ]
        assert len({json.dumps(key, sort_keys=True) for key in keys}) == len(keys)
        real_commit(items)

    store.commit = checked_commit  # type: ignore[method-assign]
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 300, "out-1", pending=True)
    with pytest.raises(IdempotencyConflict):
        ledger.post_pending("out-1", id="out-1", requested_by="finance-2")
    with pytest.raises(IdempotencyConflict):
        ledger.void_pending("out-1", id="out-1", requested_by="finance-2")
    assert ledger.get_transfer("out-1").state == PendingState.PENDING
    ledger.post_pending("out-1", id="out-1-post", requested_by="finance-2")
    assert ledger.balance(CASE_A).available == 700


def test_unprocessed_batch_reads_are_retried_a_bounded_number_of_times(
    ledger: LedgerService,
) -> None:
    """A throttled BatchGetItem hands keys back as UnprocessedKeys. They are asked again
    with backoff, a bounded number of times, then the caller gets a clear 503."""
    collect(ledger, CASE_A, 100, "pay-1")
    calls: list[int] = []
    real = ledger.store.client

    class Throttled:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            calls.append(1)
            if len(calls) > 50:
                raise AssertionError("unbounded retry of unprocessed keys")
            return {"Responses": {}, "UnprocessedKeys": RequestItems}

    ledger.store.client = Throttled()
    with pytest.raises(ConcurrencyExhausted):
        ledger.verify(CASE_A)
    assert 1 < len(calls) <= 10


def test_verify_reports_the_first_break_not_the_state_behind_it(ledger: LedgerService) -> None:
    """Entry 2 is inflated and every later hash recomputed, but the account state is left
    alone: the first break is entry 2 (it disagrees with its transfer), not the state."""
    for n in range(4):
        collect(ledger, CASE_A, 100, f"pay-{n}")
    store = ledger.store
    prev_hash, totals = GENESIS_HASH, Counters()
    for seq, original in store.entries(CASE_A):
        delta = original.delta
        if seq == 2:
            delta = delta.model_copy(update={"credits_posted": 5000})
        totals = totals + delta
        forged = original.model_copy(
            update={"delta": delta, "after": totals, "prev_hash": prev_hash}
        ).sealed()
        prev_hash = forged.hash
        store.client.put_item(
            TableName=store.table, Item=store.new_entry_item(forged)["Put"]["Item"]
        )
    report = ledger.verify(CASE_A)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.TRANSFER)


def test_metadata_is_bounded_so_a_transfer_fits_in_one_item() -> None:
    """DynamoDB refuses an item over 400 KB (a 500 here); the ledger refuses first."""
    for metadata in ({"note": "x" * 500_000}, {f"k{n}": "v" for n in range(1000)}, {"": "v"}):
        with pytest.raises(InvalidTransfer):
            TransferRequest.between(
                id="big-1",
                debit=CASE_A,
                credit="SYS-PAYOUTS-CNY",
                amount=1,
                code=TransferCode.DISBURSEMENT,
                requested_by="finance-1",
                metadata=metadata,
            )


def test_a_transaction_refused_as_invalid_is_not_retried_as_contention(
    ledger: LedgerService, aws: Any
) -> None:
    """A cancellation for a ValidationError will fail the same way every time: it is reported
    at once, not retried eight times and then called a busy account ('try again')."""
    collect(ledger, CASE_A, 1000, "pay-1")
    calls: list[int] = []

    class FakeHTTP:
        status_code = 400

    def cancel(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        calls.append(1)
        items = json.loads(params["body"])["TransactItems"]
        reasons = [{"Code": "None"} for _ in items]
        reasons[-1] = {"Code": "ValidationError", "Message": "Item size has exceeded the limit"}
        return FakeHTTP(), {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": reasons,
        }

    aws.meta.events.register("before-call.dynamodb.TransactWriteItems", cancel)
    try:
        with pytest.raises(LedgerError) as err:
            disburse(ledger, CASE_A, 400, "out-1")
    finally:
        aws.meta.events.unregister("before-call.dynamodb.TransactWriteItems", cancel)
    assert not isinstance(err.value, ConcurrencyExhausted)
    assert err.value.status == 500
    assert len(calls) == 1
    assert ledger.balance(CASE_A).posted == 1000
