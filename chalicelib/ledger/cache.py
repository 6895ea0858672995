"""The last known state of each ledger account, kept between postings so a posting usually
needs no read before its conditional write."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from chalicelib.ledger.errors import AccountNotFound, CurrencyMismatch
from chalicelib.ledger.models import AccountState
from chalicelib.ledger.store import LedgerStore

MAX_CACHED_ACCOUNTS = 10_000  # about 1 KB each; system accounts stay hot, so stay cached


class AccountCache:
    """The last known state of each account, most recently used last and bounded, so a
    long-lived process does not grow without limit. A stale state only costs a retry."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._states: dict[str, AccountState] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every state, as a process starting afresh knows none."""
        with self._lock:
            self._states.clear()

    def get(self, account_id: str) -> AccountState | None:
        return self._states.get(account_id)

    def remember(self, states: dict[str, AccountState]) -> None:
        with self._lock:
            for account_id, state in states.items():
                self._states.pop(account_id, None)
                self._states[account_id] = state
            while len(self._states) > MAX_CACHED_ACCOUNTS:
                self._states.pop(next(iter(self._states)))

    def forget(self, account_ids: Iterable[str]) -> None:
        with self._lock:
            for account_id in account_ids:
                self._states.pop(account_id, None)

    def read(self, account_id: str) -> AccountState:
        """The account's state read consistently, which also refreshes the cache."""
        state = self._store.account_state(account_id)
        if state is None:
            raise AccountNotFound(f"no ledger account {account_id}", account_id=account_id)
        self.remember({account_id: state})
        return state

    def states_for(
        self, account_ids: list[str], currency: str
    ) -> tuple[dict[str, AccountState], set[str]]:
        """The accounts' states, from the cache where known (read otherwise), and which of
        them came from the cache; every account must exist and hold ``currency``."""
        states = {i: s for i in account_ids if (s := self._states.get(i)) is not None}
        cached = set(states)
        missing = [i for i in account_ids if i not in cached]
        if missing:
            read = self._store.account_states(missing)
            for account_id in missing:
                if account_id not in read:
                    raise AccountNotFound(f"no ledger account {account_id}", account_id=account_id)
            self.remember(read)
            states.update(read)
        for state in states.values():
            if state.account.currency != currency:
                raise CurrencyMismatch(
                    f"account {state.account.id} holds {state.account.currency}, not {currency}",
                    account_id=state.account.id,
                )
        return states, cached
