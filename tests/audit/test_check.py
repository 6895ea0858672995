"""The whole-ledger check: clean books pass page by page, and each break is named where it is."""

from __future__ import annotations

import json

from chalicelib.audit import AuditBreakKind
from chalicelib.audit.check import LedgerCheck
from chalicelib.audit.models import CheckPage
from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService
from tests.audit.conftest import CASE_OTHER_COURT, delete_newest_entry_and_roll_back
from tests.ledger.conftest import CASE_A, CASE_B, CLEARING, collect, disburse


def run_in_pages(check: LedgerCheck, *, court: str | None = None, budget: int) -> list[CheckPage]:
    pages = [check.page(court=court, budget=budget)]
    while pages[-1].cursor is not None:
        pages.append(check.page(court=court, cursor=pages[-1].cursor, budget=budget))
        assert len(pages) < 100
    return pages


def test_clean_ledger_passes_in_small_resumed_pages(check: LedgerCheck, accounts_held: int) -> None:
    pages = run_in_pages(check, budget=2)
    assert len(pages) > 4  # eight accounts and six transfers, two at a time
    assert all(not page.breaks for page in pages)
    last = pages[-1]
    assert last.done
    assert sum(p.accounts_checked for p in pages) == accounts_held
    assert sum(p.transfers_checked for p in pages) == 5
    totals = last.totals["CNY"]
    assert totals.debits_posted == totals.credits_posted == 10_000 + 10_001 + 10_002 + 500 + 7_700
    assert totals.entries == 10


def test_pending_and_resolved_transfers_check_clean(
    history: LedgerService, clock: FixedClock
) -> None:
    from chalicelib.ledger.listing import LedgerListing

    disburse(history, CASE_B, 700, "hold-b", pending=True, timeout_seconds=3600)
    history.post_pending("hold-b", id="hold-b-post", requested_by="finance-1", amount=500)
    pages = run_in_pages(LedgerCheck(history, LedgerListing(history.store), clock), budget=50)
    assert [b for p in pages for b in p.breaks] == []


def test_deleted_newest_entry_with_state_rolled_back_is_caught(
    history: LedgerService, check: LedgerCheck
) -> None:
    deleted = delete_newest_entry_and_roll_back(history, CASE_A)
    assert history.verify(CASE_A).ok  # the account alone no longer shows it
    breaks = [b for p in run_in_pages(check, budget=3) for b in p.breaks]
    found = {(b.account_id, b.seq, b.kind) for b in breaks}
    assert (CASE_A, deleted, AuditBreakKind.MISSING) in found
    assert ("*", 0, AuditBreakKind.UNBALANCED) in found
    unbalanced = next(b for b in breaks if b.kind == AuditBreakKind.UNBALANCED)
    assert "-500 fen posted" in unbalanced.detail or "500 fen posted" in unbalanced.detail


def test_every_break_is_reported_not_only_the_first(
    history: LedgerService, check: LedgerCheck
) -> None:
    delete_newest_entry_and_roll_back(history, CASE_A)
    history.store.client.delete_item(
        TableName=history.store.table,
        Key={"pk": {"S": f"ACCT#{CASE_B}"}, "sk": {"S": "ENTRY#000000000001"}},
    )
    breaks = [b for p in run_in_pages(check, budget=100) for b in p.breaks]
    accounts = {b.account_id for b in breaks}
    assert {CASE_A, CASE_B, "*"} <= accounts
    case_b = [b for b in breaks if b.account_id == CASE_B]
    assert {(b.seq, b.kind) for b in case_b} == {(1, AuditBreakKind.MISSING)}


def test_an_entry_that_names_another_transfer_is_caught(
    history: LedgerService, check: LedgerCheck
) -> None:
    # the entry a transfer wrote now holds another transfer's id: its leg lost its entry
    store = history.store
    key = {"pk": {"S": f"ACCT#{CLEARING}"}, "sk": {"S": "ENTRY#000000000001"}}
    item = store.client.get_item(TableName=store.table, Key=key)["Item"]
    body = json.loads(item["body"]["S"])
    body["transfer_id"] = "pay-b-0"
    item["body"] = {"S": json.dumps(body)}
    store.client.put_item(TableName=store.table, Item=item)
    found = {
        (b.account_id, b.seq, b.kind) for p in run_in_pages(check, budget=100) for b in p.breaks
    }
    assert (CLEARING, 1, AuditBreakKind.CHANGED) in found  # its own chain
    assert (CLEARING, 1, AuditBreakKind.TRANSFER) in found  # and the transfer's leg


def test_a_court_check_covers_only_that_courts_accounts(
    history: LedgerService, clock: FixedClock
) -> None:
    from chalicelib.ledger.listing import LedgerListing

    history.open_case_account(CASE_OTHER_COURT, case_id="case-other")
    collect(history, CASE_OTHER_COURT, 3_000, "pay-other")
    collect(history, CASE_OTHER_COURT, 4_000, "pay-other-2")
    delete_newest_entry_and_roll_back(history, CASE_OTHER_COURT)
    check = LedgerCheck(history, LedgerListing(history.store), clock)

    ours = run_in_pages(check, court="粤0604", budget=100)
    assert sum(p.accounts_checked for p in ours) == 2
    assert [b for p in ours for b in p.breaks] == []

    theirs = [b for p in run_in_pages(check, court="粤0605", budget=100) for b in p.breaks]
    assert [(b.account_id, b.seq, b.kind) for b in theirs] == [
        (CASE_OTHER_COURT, 2, AuditBreakKind.MISSING)
    ]
