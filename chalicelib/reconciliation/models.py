"""Reconciliation's values: a day's result per currency, its differences, and their resolution.

A day is the court's calendar day (Beijing time). Every amount is integer fen, signed as it
moves the court's balance at the rail: money in is positive, money out negative.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class DifferenceKind(StrEnum):
    MISSING_IN_LEDGER = "missing_in_ledger"  # the rail moved money the ledger has no transfer for
    MISSING_AT_RAIL = "missing_at_rail"  # the ledger has a transfer the rail never booked
    AMOUNT = "amount"  # both sides know the movement, with different amounts
    CURRENCY = "currency"  # both sides know the movement, in different currencies
    NEGATIVE_CASE_ACCOUNT = "negative_case_account"  # a case account below zero
    UNEXPECTED_COUNTERPART = "unexpected_counterpart"  # rail money moved against a wrong account
    # one movement booked by the rail on one day and by the ledger on the next (or the day
    # before): matched by the later run, so it explains a day's totals but needs no one
    ACROSS_MIDNIGHT = "across_midnight"


class ItemStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DayStatus(StrEnum):
    OPEN = "open"  # differences wait for finance
    BALANCED = "balanced"  # nothing unexplained; finance may close it
    CLOSED = "closed"


class ReconciliationItem(BaseModel):
    """One difference, opened by a run and resolved by finance with a note."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    item_id: str
    day: date
    currency: str
    kind: DifferenceKind
    reference: str
    rail_amount: int | None = None
    ledger_amount: int | None = None
    difference: int  # rail minus ledger, fen; for a negative account, its balance
    detail: str
    # what each side holds under the reference that day, by id, so finance can find them
    rail_transactions: tuple[str, ...] = ()
    transfers: tuple[str, ...] = ()
    other_day: date | None = None  # across midnight: the day the other side was booked
    # across midnight, on the other day's side: the running day's transfers or rail transactions
    # that answered it, so a re-run of that day recognises its own pair
    matched_with: tuple[str, ...] = ()
    status: ItemStatus = ItemStatus.OPEN
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None
    correction_transfer_id: str | None = None


class FeeBooking(BaseModel):
    """A processing fee the rail took, booked as its own ledger transfer."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    rail_transaction: str
    transfer_id: str
    amount: int


class DayResult(BaseModel):
    """The three-way check of one day in one currency, kept and exportable."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    day: date
    currency: str
    rail: str
    status: DayStatus
    run_at: datetime
    run_by: str
    runs: int = Field(ge=1)
    rail_transactions: int
    rail_gross: int  # what the rail booked before fees
    rail_fees: int
    rail_net: int  # how far the rail balance moved
    ledger_rail_movement: int  # the same, by the ledger's clearing and in-transit accounts
    ledger_case_movement: int  # the same, by case accounts, unidentified funds and rail fees
    matched: int
    # the fees booked this day (each a ledger transfer, listed by the store and the export)
    fees_booked: int = 0
    fees_booked_fen: int = 0
    case_accounts_checked: int
    open_items: int
    unexplained: int  # sum of the open differences, in absolute fen
    closed_by: str | None = None
    closed_at: datetime | None = None
