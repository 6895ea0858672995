"""The audit's values: breaks found in the ledger, running totals and a check's progress. Pure."""

from __future__ import annotations

import base64
import binascii
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.audit.errors import InvalidAuditQuery


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuditBreakKind(StrEnum):
    """What is wrong. The first six are an account's own chain (as the ledger's ``verify``
    names them); the others need the whole ledger or the published digest to see."""

    CHANGED = "changed"  # an entry's content no longer matches its hash
    MISSING = "missing"  # an entry the chain or a transfer's leg needs is not stored
    REORDERED = "reordered"  # entries stored out of their chain order
    BALANCE = "balance"  # a running balance does not add up
    STATE = "state"  # an account's stored counters disagree with its entries
    TRANSFER = "transfer"  # an entry disagrees with the transfer record it names
    UNBALANCED = "unbalanced"  # a currency's balances do not sum to zero
    DIGEST = "digest"  # a head the latest published digest holds is gone or rewritten


class LedgerBreak(_Frozen):
    """One break: where (account and sequence; ``*`` for a whole currency) and what."""

    account_id: str
    seq: int
    kind: AuditBreakKind
    detail: str


class CurrencyTotals(_Frozen):
    """One currency's sums over every account checked, in fen."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    accounts: int = 0
    entries: int = 0


class CheckPhase(StrEnum):
    ACCOUNTS = "accounts"  # every account's chain, balances and transfers
    TRANSFERS = "transfers"  # every transfer's legs have their entries
    DIGEST = "digest"  # every head the latest digest published is still in its chain
    DONE = "done"


class CheckPosition(_Frozen):
    """Where a whole-ledger check stands, carried in its cursor between pages."""

    court: str | None = None
    phase: CheckPhase = CheckPhase.ACCOUNTS
    position: dict[str, dict[str, str]] | None = None
    month: str | None = None  # the month of transfers being read, "2026-11"
    first_month: str | None = None  # the month the oldest account was opened
    digest: int | None = None  # the number of the published digest compared with
    digest_offset: int = 0  # byte offset of the next of that digest's leaves
    totals: dict[str, CurrencyTotals] = Field(default_factory=dict)
    breaks_found: int = 0

    def encode(self) -> str:
        return base64.urlsafe_b64encode(
            self.model_dump_json(exclude_defaults=True).encode()
        ).decode()

    @classmethod
    def decode(cls, cursor: str) -> CheckPosition:
        try:
            return cls.model_validate(json.loads(base64.urlsafe_b64decode(cursor.encode())))
        except (binascii.Error, ValueError, UnicodeDecodeError, ValidationError) as exc:
            raise InvalidAuditQuery("the cursor is not one this audit issued") from exc


class CheckPage(_Frozen):
    """One page of a whole-ledger check: what it looked at, the breaks found on this page,
    and the cursor to carry on (None when the check is complete)."""

    court: str | None
    phase: CheckPhase
    accounts_checked: int
    transfers_checked: int
    heads_compared: int  # account heads compared with the latest published digest
    breaks: list[LedgerBreak]
    totals: dict[str, CurrencyTotals]
    cursor: str | None
    done: bool
