"""Tampering with stored entries: verify finds the change, the gap and the swap, and says where."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.ledger import BreakKind, LedgerService
from chalicelib.ledger.models import GENESIS_HASH, Counters
from chalicelib.ledger.store import account_pk, entry_sk, state_item_values, to_item
from tests.ledger.conftest import CASE_A, collect, disburse


@pytest.fixture
def history(ledger: LedgerService) -> LedgerService:
    """Five entries on case A: four payments in and one payout."""
    for n in range(4):
        collect(ledger, CASE_A, 1000 + n, f"pay-{n}")
    disburse(ledger, CASE_A, 500, "out-1")
    assert ledger.verify(CASE_A).ok
    return ledger


def entry_key(seq: int) -> dict[str, Any]:
    return {"pk": {"S": account_pk(CASE_A)}, "sk": {"S": entry_sk(seq)}}


def stored_entry(ledger: LedgerService, seq: int) -> dict[str, Any]:
    item: dict[str, Any] = ledger.store.client.get_item(
        TableName=ledger.store.table, Key=entry_key(seq)
    )["Item"]
    return item


def forge(ledger: LedgerService, key: dict[str, Any], path: tuple[str, str], value: int) -> None:
    """Rewrite one number inside a stored item's JSON body, as someone with table access could."""
    item = ledger.store.client.get_item(TableName=ledger.store.table, Key=key)["Item"]
    body = json.loads(item["body"]["S"])
    body[path[0]][path[1]] = value
    item["body"] = {"S": json.dumps(body)}
    ledger.store.client.put_item(TableName=ledger.store.table, Item=item)


def test_verify_finds_a_changed_amount(history: LedgerService) -> None:
    forge(history, entry_key(3), ("delta", "credits_posted"), 99_999)
    report = history.verify(CASE_A)
    assert not report.ok
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (3, BreakKind.CHANGED)
    assert report.entries_checked == 2


def test_verify_finds_a_deleted_entry(history: LedgerService) -> None:
    history.store.client.delete_item(TableName=history.store.table, Key=entry_key(2))
    report = history.verify(CASE_A)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.MISSING)
    assert "entry 2 is missing" in report.first_break.detail


def test_verify_finds_a_deleted_last_entry(history: LedgerService) -> None:
    history.store.client.delete_item(TableName=history.store.table, Key=entry_key(5))
    report = history.verify(CASE_A)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (5, BreakKind.MISSING)


def test_verify_finds_two_swapped_entries(history: LedgerService) -> None:
    second, third = stored_entry(history, 2), stored_entry(history, 3)
    for key_seq, content in ((2, third), (3, second)):
        history.store.client.put_item(
            TableName=history.store.table, Item={**content, **entry_key(key_seq)}
        )
    report = history.verify(CASE_A)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.REORDERED)
    assert "is entry 3" in report.first_break.detail


def test_verify_finds_a_forged_account_balance(history: LedgerService) -> None:
    forge(
        history,
        {"pk": {"S": account_pk(CASE_A)}, "sk": {"S": "STATE"}},
        ("totals", "credits_posted"),
        1,
    )
    report = history.verify(CASE_A)
    assert report.first_break is not None
    assert report.first_break.kind == BreakKind.STATE


def test_verify_finds_a_forgery_rehashed_along_the_whole_chain(history: LedgerService) -> None:
    """Someone with write access inflates entry 3 and recomputes every later hash and the
    account's counters: the chain is consistent again, but entry 3 no longer matches its
    transfer record."""
    store = history.store
    rewritten = []
    prev_hash, totals = GENESIS_HASH, Counters()
    for seq, original in store.entries(CASE_A):
        delta = original.delta
        if seq == 3:
            delta = delta.model_copy(update={"credits_posted": delta.credits_posted + 5000})
        totals = totals + delta
        forged_entry = original.model_copy(
            update={"delta": delta, "after": totals, "prev_hash": prev_hash}
        ).sealed()
        prev_hash = forged_entry.hash
        rewritten.append(forged_entry)
    for entry in rewritten:
        item = store.new_entry_item(entry)["Put"]["Item"]
        store.client.put_item(TableName=store.table, Item=item)
    state = store.account_state(CASE_A)
    assert state is not None
    forged = state.model_copy(update={"totals": totals, "head_hash": prev_hash})
    store.client.put_item(
        TableName=store.table,
        Item={
            "pk": {"S": account_pk(CASE_A)},
            "sk": {"S": "STATE"},
            **to_item(state_item_values(forged)),
        },
    )
    report = history.verify(CASE_A)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (3, BreakKind.TRANSFER)
    assert "pay-2" in report.first_break.detail
