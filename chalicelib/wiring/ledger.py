"""Builds the ledger, the system of record every capability posts through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.shared import cached, clock, dynamodb, settings

if TYPE_CHECKING:
    from chalicelib.ledger.service import LedgerService


def ledger_service() -> LedgerService:
    """The ledger: the system of record every capability posts through."""

    def build() -> LedgerService:
        from chalicelib.ledger.service import LedgerService

        return LedgerService(
            dynamodb(),
            settings().ledger_table,
            clock(),
            system_shards=settings().ledger_system_shards,
            max_attempts=settings().ledger_posting_attempts,
        )

    return cached("ledger", build)
