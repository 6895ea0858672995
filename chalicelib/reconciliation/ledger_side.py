"""The ledger's side of a reconciliation day: what its rail-facing accounts moved, by reference.

The rail-facing accounts are payment clearing and the refunds and payouts in transit: a debit
there is money the rail took in for the court, a credit money it let out. Each movement is
keyed by the rail's reference the transfer carries (``rail_reference`` in its metadata, set by
collection), or by its own id when it has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.ledger import (
    LedgerService,
    Side,
    SystemAccount,
    Transfer,
    TransferCode,
)
from chalicelib.ledger.shards import base_of
from chalicelib.reconciliation.matching import LedgerMovement

PAGE = 500
TRANSFER_BATCH = 100
RAIL_FACING = (
    SystemAccount.PAYMENT_CLEARING,
    SystemAccount.REFUNDS_IN_TRANSIT,
    SystemAccount.PAYOUTS_IN_TRANSIT,
)
# Where the money behind a rail movement may sit on the ledger's other side.
HOLDING = (SystemAccount.UNIDENTIFIED_FUNDS, SystemAccount.RAIL_FEES)


@dataclass
class LedgerDay:
    movements: list[LedgerMovement] = field(default_factory=list)
    rail_movement: int = 0
    case_movement: int = 0  # case accounts, unidentified funds and rail fees, mirrored
    case_accounts: set[str] = field(default_factory=set)
    strays: list[tuple[str, str, int]] = field(default_factory=list)  # transfer, account, fen


def _transfer_ids(
    ledger: LedgerService, account_id: str, start: datetime, end: datetime
) -> Iterator[str]:
    cursor: str | None = None
    while True:
        page = ledger.statement(account_id, start=start, end=end, limit=PAGE, cursor=cursor)
        for line in page.lines:
            # Fees are matched by the rail transaction they were booked from, whichever day
            # they were booked on; pending reservations are not money moved.
            if line.code is not TransferCode.RAIL_FEE and (line.debit or line.credit):
                yield line.transfer_id
        cursor = page.next_cursor
        if cursor is None:
            return


def read_ledger_day(
    ledger: LedgerService, currency: str, start: datetime, end: datetime
) -> LedgerDay:
    facing = {system.of(currency) for system in RAIL_FACING}
    holding = {system.of(currency) for system in HOLDING}
    day = LedgerDay()
    pending: list[str] = []
    seen: set[str] = set()
    for account_id in sorted(facing):
        for transfer_id in _transfer_ids(ledger, account_id, start, end):
            if transfer_id not in seen:
                seen.add(transfer_id)
                pending.append(transfer_id)
            if len(pending) >= TRANSFER_BATCH:
                _add(day, ledger.transfers(pending), facing, holding)
                pending = []
    if pending:
        _add(day, ledger.transfers(pending), facing, holding)
    return day


def _add(
    day: LedgerDay, transfers: dict[str, Transfer], facing: set[str], holding: set[str]
) -> None:
    for transfer in transfers.values():
        into_rail = 0
        for leg in transfer.legs:
            signed = leg.amount if leg.side is Side.DEBIT else -leg.amount
            # A system account's shard counts as the account it belongs to.
            home = base_of(leg.account_id)
            if home in facing:
                into_rail += signed
            elif home in holding or _is_case_account(leg.account_id):
                day.case_movement -= signed
                if _is_case_account(leg.account_id):
                    day.case_accounts.add(leg.account_id)
            else:
                day.strays.append((transfer.id, leg.account_id, signed))
        if into_rail == 0:
            continue  # money moved between rail-facing accounts only
        day.rail_movement += into_rail
        day.movements.append(
            LedgerMovement(
                transfer_id=transfer.id,
                reference=transfer.metadata.get("rail_reference", transfer.id),
                amount=into_rail,
                currency=transfer.currency,
            )
        )


def _is_case_account(account_id: str) -> bool:
    # System accounts are named SYS-...; case accounts are the 16-digit numbers.
    return not account_id.startswith("SYS-")
