"""The ledger's values: accounts, transfers, entries and balances. Pure: no I/O, no boto3.

Sign convention: every account keeps four counters (debits and credits, posted and pending) and
its balance is credits minus debits. Case accounts hold money for a case (a liability of the
court), so they are credit-normal and may never go below zero; the sum of (credits - debits)
over all accounts is zero because every transfer's legs balance.

One module on purpose: these are the ledger's vocabulary, shared by every room of it (engine,
store, reads, audit, corrections) and by the JSON its routes speak; each is a few lines of pure
data with its own invariants, and keeping them side by side keeps one meaning for each word.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.bodies import Moment, Reason
from chalicelib.ledger.errors import InsufficientFunds, InvalidTransfer
from chalicelib.money import MAX_FEN, PositiveFen, check_currency

GENESIS_HASH = "0" * 64
MAX_LEGS = 24  # 1 transfer record + 2 items per leg + guards stays under DynamoDB's 100 items
MAX_METADATA_KEYS = 32
MAX_METADATA_VALUE = 2000
CASE_ACCOUNT_ID = re.compile(r"^[0-9]{16}$")
TRANSFER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._\-]{0,127}$")
# shorter, so the correction's transfer id ("correction-<proposal id>") is a valid transfer id
PROPOSAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._\-]{0,99}$")


class _Frozen(BaseModel):
    # validators are built on first use, not at import, to keep the cold start short
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class SystemAccount(StrEnum):
    """The court's own accounts, one per currency. Each member is the CNY account's id
    (``SystemAccount.PAYMENT_CLEARING == "SYS-CLEARING-CNY"``); ``.of(currency)`` names the
    same account in another currency."""

    PAYMENT_CLEARING = "SYS-CLEARING-CNY"  # money received from the payment rail, not settled
    UNIDENTIFIED_FUNDS = "SYS-UNIDENTIFIED-CNY"  # 不明款: arrived without a recognisable case
    REFUNDS_IN_TRANSIT = "SYS-REFUNDS-CNY"  # refunds sent to the rail, not yet confirmed
    PAYOUTS_IN_TRANSIT = "SYS-PAYOUTS-CNY"  # disbursements sent to the rail, not yet confirmed
    FEES_INCOME = "SYS-FEES-CNY"  # 执行费 earned by the court
    CASH_AT_COUNTER = "SYS-CASH-CNY"  # cash taken at the counter, entered back (补录)
    RAIL_FEES = "SYS-RAILFEES-CNY"  # processing fees the payment rail took, borne by the court

    def of(self, currency: str = "CNY") -> str:
        """The account id for one currency, e.g. ``SYS-CLEARING-CNY``."""
        return f"{self.value.removesuffix('-CNY')}-{currency}"


class AccountKind(StrEnum):
    CASE = "case"
    SYSTEM = "system"


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class TransferCode(StrEnum):
    """Why money moved."""

    COLLECTION = "collection"  # paid in for a case through the payment rail
    REFUND = "refund"  # 退付: back to the payer
    DISBURSEMENT = "disbursement"  # 案款发放: to the creditor
    FEE = "fee"  # 执行费 charged to the case
    CORRECTION = "correction"  # manual, proposed by a clerk and posted by finance
    CASH_BACK_ENTRY = "cash_back_entry"  # 现场交款补录
    UNIDENTIFIED_RECEIPT = "unidentified_receipt"  # money without a case goes to suspense
    UNIDENTIFIED_CLAIM = "unidentified_claim"  # 认领: suspense money claimed to a case
    SETTLEMENT = "settlement"  # the rail settled clearing or in-transit money
    RAIL_FEE = "rail_fee"  # the rail's processing fee, booked from its balance transaction
    REVERSAL = "reversal"  # undoes a posted transfer, pointing at it


class TransferPhase(StrEnum):
    """What a transfer does to balances."""

    POSTED = "posted"  # moves posted money at once
    PENDING = "pending"  # reserves money; later posted, voided or expired
    POST_PENDING = "post_pending"  # posts a pending transfer, in full or in part
    VOID_PENDING = "void_pending"  # releases a pending transfer on request
    EXPIRE_PENDING = "expire_pending"  # releases a pending transfer after its timeout


class PendingState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class Leg(_Frozen):
    """One side of a transfer: a positive amount debited from or credited to one account."""

    account_id: str = Field(min_length=1, max_length=64)
    side: Side
    amount: int = Field(gt=0, le=MAX_FEN, strict=True)


def canonical_json(value: Any) -> str:
    """The one text form that hashes and fingerprints are computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TransferRequest(_Frozen):
    """A request to move money. ``id`` is the caller's idempotency key."""

    id: str
    legs: tuple[Leg, ...]
    currency: str = "CNY"
    code: TransferCode
    requested_by: str = Field(min_length=1, max_length=128)
    metadata: dict[str, str] = Field(default_factory=dict)
    pending: bool = False
    timeout_seconds: int | None = Field(default=None, gt=0, le=400 * 24 * 3600)
    reverses: str | None = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not TRANSFER_ID.match(value):
            raise ValueError("a transfer id is 1-128 letters, digits or :._- characters")
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        return check_currency(value)

    @field_validator("metadata")
    @classmethod
    def _bounded_metadata(cls, value: dict[str, str]) -> dict[str, str]:
        # the transfer record is one DynamoDB item (at most 400 KB)
        if len(value) > MAX_METADATA_KEYS:
            raise ValueError(f"a transfer carries at most {MAX_METADATA_KEYS} metadata fields")
        for key, text in value.items():
            if not 1 <= len(key) <= 64 or len(text) > MAX_METADATA_VALUE:
                raise ValueError(
                    f"a metadata name is 1-64 characters and a value at most {MAX_METADATA_VALUE}"
                )
        return value

    @model_validator(mode="after")
    def _balanced(self) -> TransferRequest:
        check_legs(self.legs)
        if self.timeout_seconds is not None and not self.pending:
            raise ValueError("only a pending transfer has a timeout")
        if (self.code == TransferCode.REVERSAL) != (self.reverses is not None):
            raise ValueError("a reversal, and only a reversal, names the transfer it reverses")
        return self

    @classmethod
    def between(
        cls,
        *,
        id: str,
        debit: str,
        credit: str,
        amount: int,
        code: TransferCode,
        requested_by: str,
        metadata: dict[str, str] | None = None,
        currency: str = "CNY",
        pending: bool = False,
        timeout_seconds: int | None = None,
        reverses: str | None = None,
    ) -> TransferRequest:
        """The common two-leg transfer: ``amount`` from ``debit`` to ``credit``."""
        try:
            return cls(
                id=id,
                legs=(
                    Leg(account_id=debit, side=Side.DEBIT, amount=amount),
                    Leg(account_id=credit, side=Side.CREDIT, amount=amount),
                ),
                currency=currency,
                code=code,
                requested_by=requested_by,
                metadata=metadata or {},
                pending=pending,
                timeout_seconds=timeout_seconds,
                reverses=reverses,
            )
        except ValueError as exc:
            raise InvalidTransfer(str(exc)) from exc

    def fingerprint(self) -> str:
        """A digest of the whole request: a replay must match it exactly."""
        return sha256_hex(canonical_json(self.model_dump(mode="json")))


def check_legs(legs: tuple[Leg, ...]) -> None:
    """Double entry: at least two legs, each account once, debits equal credits."""
    if len(legs) < 2:
        raise ValueError("a transfer needs at least two legs")
    if len(legs) > MAX_LEGS:
        raise ValueError(f"a transfer has at most {MAX_LEGS} legs")
    accounts = [leg.account_id for leg in legs]
    if len(set(accounts)) != len(accounts):
        raise ValueError("each account may appear in only one leg of a transfer")
    debits = sum(leg.amount for leg in legs if leg.side == Side.DEBIT)
    credits = sum(leg.amount for leg in legs if leg.side == Side.CREDIT)
    if debits != credits or debits == 0:
        raise ValueError(f"debits ({debits} fen) must equal credits ({credits} fen)")


class Transfer(_Frozen):
    """A transfer as recorded. A pending transfer's ``state`` changes once when it is resolved;
    a resolution (post, void, expire) is a transfer of its own that names the pending one."""

    id: str
    phase: TransferPhase
    code: TransferCode
    currency: str
    legs: tuple[Leg, ...]
    requested_by: str
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    reverses: str | None = None
    pending_id: str | None = None
    expires_at: datetime | None = None
    state: PendingState | None = None
    resolved_by: str | None = None

    @property
    def amount(self) -> int:
        """The total moved (or reserved): the sum of the debit legs."""
        return sum(leg.amount for leg in self.legs if leg.side == Side.DEBIT)

    def as_created(self) -> Transfer:
        """The transfer as its creator was first answered: a replay gets the same answer even
        after a pending transfer was resolved (``get_transfer`` shows the current state)."""
        if self.phase != TransferPhase.PENDING:
            return self
        return self.model_copy(update={"state": PendingState.PENDING, "resolved_by": None})


class Account(_Frozen):
    id: str
    kind: AccountKind
    currency: str
    case_id: str | None = None
    no_overdraft: bool
    created_at: datetime


class Counters(_Frozen):
    """An account's four running totals, in fen (or a change to them)."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            debits_posted=self.debits_posted + other.debits_posted,
            credits_posted=self.credits_posted + other.credits_posted,
            debits_pending=self.debits_pending + other.debits_pending,
            credits_pending=self.credits_pending + other.credits_pending,
        )

    @property
    def posted(self) -> int:
        """Posted credits minus posted debits."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What may still be debited: posted balance less money reserved by pending debits.
        Pending credits do not count until they are posted."""
        return self.credits_posted - self.debits_posted - self.debits_pending


class AccountState(_Frozen):
    """An account and its counters after entry ``seq``, with the hash of that entry."""

    account: Account
    seq: int = 0
    head_hash: str = GENESIS_HASH
    last_at: datetime | None = None
    totals: Counters = Counters()

    def apply(self, delta: Counters) -> Counters:
        """The counters after ``delta``, refusing to take a no-overdraft account below zero."""
        after = self.totals + delta
        if self.account.no_overdraft and after.available < min(0, self.totals.available):
            raise InsufficientFunds(
                f"account {self.account.id} has {self.totals.available} fen available; "
                f"the transfer needs {delta.debits_posted + delta.debits_pending} fen",
                account_id=self.account.id,
                available=self.totals.available,
            )
        return after


class Entry(_Frozen):
    """One immutable line of an account: the change a transfer made and the counters after it,
    chained to the previous line by hash."""

    account_id: str
    seq: int
    transfer_id: str
    phase: TransferPhase
    code: TransferCode
    at: datetime
    delta: Counters
    after: Counters
    prev_hash: str
    hash: str = ""

    def canonical(self) -> str:
        return canonical_json(self.model_dump(mode="json", exclude={"hash"}))

    def computed_hash(self) -> str:
        """SHA-256 over the previous entry's hash and this entry's canonical form."""
        return sha256_hex(self.prev_hash + self.canonical())

    def sealed(self) -> Entry:
        return self.model_copy(update={"hash": self.computed_hash()})


class AccountBalance(_Frozen):
    """An account's balance as of ``seq``: posted and pending, debits and credits."""

    account_id: str
    currency: str
    seq: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    posted: int
    available: int
    as_of: datetime | None = None

    @classmethod
    def of(
        cls, account_id: str, currency: str, seq: int, totals: Counters, as_of: datetime | None
    ) -> AccountBalance:
        return cls(
            account_id=account_id,
            currency=currency,
            seq=seq,
            as_of=as_of,
            posted=totals.posted,
            available=totals.available,
            **totals.model_dump(),
        )


class StatementLine(_Frozen):
    seq: int
    at: datetime
    transfer_id: str
    phase: TransferPhase
    code: TransferCode
    debit: int  # posted debit of this line, fen
    credit: int  # posted credit of this line, fen
    pending_debit: int  # change to money reserved by pending debits, fen (negative on release)
    pending_credit: int  # change to pending credits, fen (negative on release)
    balance: int  # posted balance after this line (credits - debits)
    available: int  # available balance after this line


class Statement(_Frozen):
    account_id: str
    currency: str
    lines: tuple[StatementLine, ...]
    next_cursor: str | None = None


class BreakKind(StrEnum):
    CHANGED = "changed"  # an entry's content no longer matches its hash
    MISSING = "missing"  # a sequence number has no entry
    REORDERED = "reordered"  # entries are intact but stored out of their chain order
    BALANCE = "balance"  # an entry's running balance does not add up
    STATE = "state"  # the account's stored counters disagree with its entries
    TRANSFER = "transfer"  # an entry disagrees with the transfer record it names


class ChainBreak(_Frozen):
    seq: int
    kind: BreakKind
    detail: str


class VerifyReport(_Frozen):
    """The result of recomputing an account from its entries."""

    account_id: str
    ok: bool
    entries_checked: int
    head_hash: str
    recomputed: Counters
    first_break: ChainBreak | None = None


class ProposalStatus(StrEnum):
    OPEN = "open"
    POSTED = "posted"
    REJECTED = "rejected"


class CorrectionProposal(_Frozen):
    """A manual correction a clerk proposes and finance posts or rejects (four eyes)."""

    id: str = Field(pattern=PROPOSAL_ID.pattern)
    debit_account: str
    credit_account: str
    amount: int = Field(gt=0, le=MAX_FEN, strict=True)
    currency: str = "CNY"
    reason: str = Field(min_length=1, max_length=500)
    proposed_by: str
    proposer_subject: str  # four eyes compare the token subject, never the display name
    proposed_at: datetime
    status: ProposalStatus = ProposalStatus.OPEN
    decided_by: str | None = None
    decider_subject: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    transfer_id: str | None = None


# -- API request bodies and queries ---------------------------------------------------------


class ProposeCorrection(_Frozen):
    """A clerk's proposed correction: move ``amount`` from one account to another, and why."""

    id: str = Field(pattern=PROPOSAL_ID.pattern)
    debit_account: str = Field(min_length=1, max_length=64)
    credit_account: str = Field(min_length=1, max_length=64)
    amount: PositiveFen
    reason: Reason


class RejectCorrection(_Frozen):
    reason: Reason


class BalanceQuery(_Frozen):
    at: Moment | None = None


class StatementQuery(_Frozen):
    start: Moment
    end: Moment
    limit: int = Field(default=100, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=2048)


class PageQuery(_Frozen):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)
