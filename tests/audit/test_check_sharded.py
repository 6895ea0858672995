"""The whole-ledger check over sharded system accounts: each shard's money counted once."""

from __future__ import annotations

from typing import Any

from chalicelib import wiring
from chalicelib.audit.check import LedgerCheck
from chalicelib.clock import FixedClock
from chalicelib.ledger import LedgerService
from chalicelib.ledger.listing import LedgerListing
from tests.ledger.conftest import CASE_A, collect


def test_payments_posted_across_shards_balance_in_the_check(aws: Any, clock: FixedClock) -> None:
    ledger = LedgerService(aws, wiring.table_name("LEDGER_TABLE"), clock, system_shards=4)
    ledger.ensure_system_accounts()
    ledger.open_case_account(CASE_A, case_id="case-a")
    for n in range(6):  # six transfer ids land on more than one shard of the clearing account
        collect(ledger, CASE_A, 1_000 + n, f"pay-shard-{n}")
    pages = list(LedgerCheck(ledger, LedgerListing(ledger.store), clock).run())
    assert [b for page in pages for b in page.breaks] == []
    totals = pages[-1].totals["CNY"]
    assert totals.debits_posted == totals.credits_posted == sum(1_000 + n for n in range(6))
    assert totals.entries == 12  # each payment's two legs, once
