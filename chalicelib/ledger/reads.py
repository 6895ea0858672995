"""Reading the books: balances now and at a moment, statements with running balances, and
recorded transfers. A sharded system account reads as one account (every shard summed)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from chalicelib.ledger import shard_reads
from chalicelib.ledger.cache import AccountCache
from chalicelib.ledger.errors import InvalidQuery
from chalicelib.ledger.models import (
    AccountBalance,
    Counters,
    Statement,
    StatementLine,
    Transfer,
)
from chalicelib.ledger.shards import is_sharded
from chalicelib.ledger.store import LedgerStore

MAX_STATEMENT_PAGE = 500


class LedgerReads:
    """Balances, statements and transfers, read consistently from the ledger table."""

    def __init__(self, store: LedgerStore, cache: AccountCache) -> None:
        self._store = store
        self._cache = cache

    def balance(self, account_id: str) -> AccountBalance:
        """The account's current balance, read consistently (of all its shards, for a
        sharded system account)."""
        if is_sharded(account_id):
            return shard_reads.balance(self._store, account_id)
        state = self._cache.read(account_id)
        return AccountBalance.of(
            account_id, state.account.currency, state.seq, state.totals, state.last_at
        )

    def balances(self, account_ids: Iterable[str]) -> dict[str, AccountBalance]:
        """Current balances of many accounts in batched consistent reads (unknown ones are
        left out): reconciliation checks every case account a day touched."""
        states = self._store.account_states(sorted(set(account_ids)))
        return {
            account_id: AccountBalance.of(
                account_id, state.account.currency, state.seq, state.totals, state.last_at
            )
            for account_id, state in states.items()
        }

    def transfers(self, transfer_ids: Iterable[str]) -> dict[str, Transfer]:
        """Recorded transfers by id in batched reads (unknown ids are left out)."""
        return self._store.transfers(set(transfer_ids))

    def balance_at(self, account_id: str, moment: datetime) -> AccountBalance:
        """The balance as it stood at ``moment``, from the last entry at or before it."""
        if is_sharded(account_id):
            return shard_reads.balance_at(self._store, account_id, moment)
        state = self._cache.read(account_id)
        entry = self._store.last_entry_before(account_id, moment)
        if entry is None:
            return AccountBalance.of(account_id, state.account.currency, 0, Counters(), moment)
        return AccountBalance.of(account_id, state.account.currency, entry.seq, entry.after, moment)

    def statement(
        self,
        account_id: str,
        *,
        start: datetime,
        end: datetime,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Statement:
        """The account's entries with ``start <= time < end``, oldest first, each with the
        running balance after it; ``next_cursor`` fetches the next page."""
        if not 1 <= limit <= MAX_STATEMENT_PAGE:
            raise InvalidQuery(f"a statement page holds 1 to {MAX_STATEMENT_PAGE} lines")
        if end <= start:
            raise InvalidQuery("a statement's end must be after its start")
        if is_sharded(account_id):
            lines, next_cursor = shard_reads.statement_lines(
                self._store, account_id, start=start, end=end, limit=limit, cursor=cursor
            )
            currency = self._cache.read(account_id).account.currency
            return Statement(
                account_id=account_id,
                currency=currency,
                lines=tuple(lines),
                next_cursor=next_cursor,
            )
        state = self._cache.read(account_id)
        entries, next_cursor = self._store.entries_between(
            account_id, start, end, limit=limit, cursor=cursor
        )
        return Statement(
            account_id=account_id,
            currency=state.account.currency,
            lines=tuple(
                StatementLine(
                    seq=entry.seq,
                    at=entry.at,
                    transfer_id=entry.transfer_id,
                    phase=entry.phase,
                    code=entry.code,
                    debit=entry.delta.debits_posted,
                    credit=entry.delta.credits_posted,
                    pending_debit=entry.delta.debits_pending,
                    pending_credit=entry.delta.credits_pending,
                    balance=entry.after.posted,
                    available=entry.after.available,
                )
                for entry in entries
            ),
            next_cursor=next_cursor,
        )
