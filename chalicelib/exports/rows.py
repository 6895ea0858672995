"""The rows of each export, streamed from the ledger a page at a time in a fixed order.

Journal and statement rows are ledger entries with every field their hash covers, so an
auditor can recompute each row's hash and follow each account's chain offline. The trial
balance has one row per account, in its natural sign: debit-normal for the money the court
holds at the rail or in cash (clearing, counter cash), credit-normal for everything owed to
cases, payers, creditors or the court's fees.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.clock import isoformat
from chalicelib.exports.errors import ExportError
from chalicelib.ledger.models import Counters, Entry, TransferCode

if TYPE_CHECKING:
    from chalicelib.ledger.listing import LedgerListing
    from chalicelib.ledger.service import LedgerService

PAGE = 1000  # DynamoDB ends a page at 1 MB anyway; fewer round trips per export
ENTRY_COLUMNS = [
    "account_id",
    "seq",
    "at",
    "transfer_id",
    "code",
    "code_name",
    "phase",
    "currency",
    "debit",
    "credit",
    "pending_debit",
    "pending_credit",
    "debits_posted",
    "credits_posted",
    "debits_pending",
    "credits_pending",
    "balance",
    "prev_hash",
    "hash",
]
JOURNAL_COLUMNS = ["transfer_created_at", *ENTRY_COLUMNS]
TRIAL_BALANCE_COLUMNS = [
    "account_id",
    "account_name",
    "kind",
    "currency",
    "normal_side",
    "opening",
    "debits",
    "credits",
    "closing",
]
DEBIT_NORMAL = ("SYS-CLEARING-", "SYS-CASH-")
# What a court's finance office calls each reason and each system account.
CODE_NAMES = {
    TransferCode.COLLECTION: "案款收取",
    TransferCode.REFUND: "退付",
    TransferCode.DISBURSEMENT: "案款发放",
    TransferCode.FEE: "执行费",
    TransferCode.CORRECTION: "更正",
    TransferCode.CASH_BACK_ENTRY: "现场交款补录",
    TransferCode.UNIDENTIFIED_RECEIPT: "不明款入账",
    TransferCode.UNIDENTIFIED_CLAIM: "不明款认领",
    TransferCode.SETTLEMENT: "结算",
    TransferCode.REVERSAL: "冲正",
}
SYSTEM_NAMES = {
    "SYS-CLEARING-": "支付清算款",
    "SYS-UNIDENTIFIED-": "不明款",
    "SYS-REFUNDS-": "退付在途款",
    "SYS-PAYOUTS-": "发放在途款",
    "SYS-FEES-": "执行费收入",
    "SYS-CASH-": "现场交款",
}

Row = dict[str, Any]


def entry_row(entry: Entry, currency: str) -> Row:
    return {
        "account_id": entry.account_id,
        "seq": entry.seq,
        "at": entry.model_dump(mode="json")["at"],
        "transfer_id": entry.transfer_id,
        "code": entry.code.value,
        "code_name": CODE_NAMES[entry.code],
        "phase": entry.phase.value,
        "currency": currency,
        "debit": entry.delta.debits_posted,
        "credit": entry.delta.credits_posted,
        "pending_debit": entry.delta.debits_pending,
        "pending_credit": entry.delta.credits_pending,
        "debits_posted": entry.after.debits_posted,
        "credits_posted": entry.after.credits_posted,
        "debits_pending": entry.after.debits_pending,
        "credits_pending": entry.after.credits_pending,
        "balance": entry.after.posted,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def control_amounts(row: Row) -> tuple[int, int]:
    """The posted debit and credit a row adds to its currency's control totals."""
    if "debit" in row:
        return int(row["debit"]), int(row["credit"])
    return int(row["debits"]), int(row["credits"])


def entry_from_row(row: Row) -> Entry:
    """The ledger entry a row shows, to recompute its hash (raises ValueError if malformed)."""
    return Entry.model_validate(
        {
            "account_id": row["account_id"],
            "seq": int(row["seq"]),
            "transfer_id": row["transfer_id"],
            "phase": row["phase"],
            "code": row["code"],
            "at": row["at"],
            "delta": Counters(
                debits_posted=int(row["debit"]),
                credits_posted=int(row["credit"]),
                debits_pending=int(row["pending_debit"]),
                credits_pending=int(row["pending_credit"]),
            ),
            "after": Counters(
                debits_posted=int(row["debits_posted"]),
                credits_posted=int(row["credits_posted"]),
                debits_pending=int(row["debits_pending"]),
                credits_pending=int(row["credits_pending"]),
            ),
            "prev_hash": row["prev_hash"],
            "hash": row["hash"],
        }
    )


def _months(start: datetime, end: datetime) -> Iterator[datetime]:
    month = datetime(start.year, start.month, 1, tzinfo=UTC)
    while month < end:
        yield month
        month = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def journal_rows(listing: LedgerListing, start: datetime, end: datetime) -> Iterator[Row]:
    """Every entry of every transfer created in the period: transfers by creation time, each
    transfer's entries by account."""
    for month in _months(start, end):
        position = None
        while True:
            page = listing.transfers_in_month(
                month, start=start, end=end, limit=PAGE, position=position
            )
            wanted = [(a, s) for item in page.transfers for a, s in item.entry_seqs.items()]
            stored = listing.entries_at(wanted)
            for item in page.transfers:
                created = isoformat(item.transfer.created_at)
                for account, seq in sorted(item.entry_seqs.items()):
                    entry = stored.get((account, seq))
                    if entry is None:
                        raise ExportError(
                            f"entry {seq} of account {account}, written by transfer "
                            f"{item.transfer.id}, cannot be read: run the ledger check"
                        )
                    yield {
                        "transfer_created_at": created,
                        **entry_row(entry, item.transfer.currency),
                    }
            if not page.position:
                break
            position = page.position


def statement_rows(
    ledger: LedgerService, account_id: str, start: datetime, end: datetime
) -> Iterator[Row]:
    """One account's entries in the period, oldest first, with the running balance."""
    currency = ledger.balance(account_id).currency
    cursor = None
    while True:
        entries, cursor = ledger.store.entries_between(
            account_id, start, end, limit=PAGE, cursor=cursor
        )
        for entry in entries:
            yield entry_row(entry, currency)
        if cursor is None:
            return


def account_name(account_id: str) -> str:
    for prefix, name in SYSTEM_NAMES.items():
        if account_id.startswith(prefix):
            return name
    return "案件账户"  # a case account (一案一账号)


def _natural(account_id: str, totals: Counters) -> int:
    if account_id.startswith(DEBIT_NORMAL):
        return totals.debits_posted - totals.credits_posted
    return totals.credits_posted - totals.debits_posted


def trial_balance_rows(
    ledger: LedgerService, listing: LedgerListing, start: datetime, end: datetime
) -> Iterator[Row]:
    """Per account: the balance before the period, posted debits and credits within it, and
    the balance at its end, each in the account's natural sign."""
    just_before = timedelta(microseconds=1)
    position = None
    while True:
        page = listing.account_states(limit=PAGE, position=position)
        for state in page.states:
            account_id = state.account.id
            opening_entry = ledger.store.last_entry_before(account_id, start - just_before)
            closing_entry = ledger.store.last_entry_before(account_id, end - just_before)
            opening = opening_entry.after if opening_entry else Counters()
            closing = closing_entry.after if closing_entry else Counters()
            yield {
                "account_id": account_id,
                "account_name": account_name(account_id),
                "kind": state.account.kind.value,
                "currency": state.account.currency,
                "normal_side": "debit" if account_id.startswith(DEBIT_NORMAL) else "credit",
                "opening": _natural(account_id, opening),
                "debits": closing.debits_posted - opening.debits_posted,
                "credits": closing.credits_posted - opening.credits_posted,
                "closing": _natural(account_id, closing),
            }
        if not page.position:
            return
        position = page.position
