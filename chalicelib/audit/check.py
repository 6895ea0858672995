"""The whole-ledger check: every account's chain, every transfer's legs, every currency's sum.

It runs a page at a time and hands back a cursor, so an auditor's request stays short and the
daily job can carry on after a Lambda timeout. The cursor carries the running totals, so the
sums are checked over exactly the accounts the pages saw. One court's check covers its case
accounts and their legs; the sums to zero hold only over the whole ledger, so only a check of
all courts tests them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib.audit.errors import DigestInvalid, InvalidAuditQuery
from chalicelib.audit.models import (
    AuditBreakKind,
    CheckPage,
    CheckPhase,
    CheckPosition,
    CurrencyTotals,
    LedgerBreak,
)
from chalicelib.cases.identifiers import check_court_code
from chalicelib.clock import Clock, isoformat
from chalicelib.courts import court_region_digits
from chalicelib.ledger.listing import LedgerListing, RecordedTransfer
from chalicelib.ledger.shards import is_sharded

if TYPE_CHECKING:
    from chalicelib.audit.publisher import DigestPublisher
    from chalicelib.ledger.service import LedgerService

MAX_PAGE = 500  # the routes' CheckQuery allows the same


def court_prefix(court: str | None) -> str:
    """The account id prefix of a court's case accounts ("" for every account)."""
    if court is None:
        return ""
    try:
        return court_region_digits(check_court_code(court))
    except ValueError as exc:
        raise InvalidAuditQuery(str(exc)) from exc


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC)


class LedgerCheck:
    """Checks the ledger through its service (``verify`` per account) and its listing, and,
    given the digest publisher, against the latest published digest."""

    def __init__(
        self,
        ledger: LedgerService,
        listing: LedgerListing,
        clock: Clock,
        *,
        digests: DigestPublisher | None = None,
    ) -> None:
        self.ledger = ledger
        self.listing = listing
        self.clock = clock
        self.digests = digests

    def page(
        self, *, court: str | None = None, cursor: str | None = None, budget: int = 100
    ) -> CheckPage:
        """Check up to ``budget`` accounts or transfers, from ``cursor`` (or the start)."""
        if not 1 <= budget <= MAX_PAGE:
            raise InvalidAuditQuery(f"a check page covers 1 to {MAX_PAGE} accounts or transfers")
        position = CheckPosition.decode(cursor) if cursor else CheckPosition(court=court)
        if position.court != court:
            raise InvalidAuditQuery("the cursor belongs to a check of another court")
        breaks: list[LedgerBreak] = []
        accounts = transfers = heads = 0
        while position.phase != CheckPhase.DONE and accounts + transfers + heads < budget:
            room = budget - accounts - transfers - heads
            if position.phase == CheckPhase.ACCOUNTS:
                position, checked = self._accounts(position, breaks, room)
                accounts += checked
            elif position.phase == CheckPhase.DIGEST:
                position, compared = self._digest(position, breaks, room)
                heads += compared
            else:
                position, checked = self._transfers(position, breaks, room)
                transfers += checked
        position = position.model_copy(update={"breaks_found": position.breaks_found + len(breaks)})
        done = position.phase == CheckPhase.DONE
        return CheckPage(
            court=court,
            phase=position.phase,
            accounts_checked=accounts,
            transfers_checked=transfers,
            heads_compared=heads,
            breaks=breaks,
            totals=position.totals,
            cursor=None if done else position.encode(),
            done=done,
        )

    def run(self, *, court: str | None = None) -> Iterator[CheckPage]:
        """Every page of a complete check, for the daily job."""
        cursor: str | None = None
        while True:
            page = self.page(court=court, cursor=cursor, budget=MAX_PAGE)
            yield page
            if page.cursor is None:
                return
            cursor = page.cursor

    def _accounts(
        self, position: CheckPosition, breaks: list[LedgerBreak], room: int
    ) -> tuple[CheckPosition, int]:
        page = self.listing.account_states(
            prefix=court_prefix(position.court), limit=room, position=position.position
        )
        totals = dict(position.totals)
        first_month = position.first_month
        for state in page.states:
            report = self.ledger.verify(state.account.id)
            if report.first_break is not None:
                found = report.first_break
                breaks.append(
                    LedgerBreak(
                        account_id=state.account.id,
                        seq=found.seq,
                        kind=AuditBreakKind(found.kind.value),
                        detail=found.detail,
                    )
                )
            counted, entries = report.recomputed, report.entries_checked
            if is_sharded(state.account.id):
                # verify() of a sharded account covers its shards, which the listing yields on
                # their own as well: count only the account's own counters here (its chain was
                # verified above), so no shard's money is counted twice in the trial balance.
                counted, entries = state.totals, state.seq
            before = totals.get(state.account.currency, CurrencyTotals())
            totals[state.account.currency] = CurrencyTotals(
                debits_posted=before.debits_posted + counted.debits_posted,
                credits_posted=before.credits_posted + counted.credits_posted,
                debits_pending=before.debits_pending + counted.debits_pending,
                credits_pending=before.credits_pending + counted.credits_pending,
                accounts=before.accounts + 1,
                entries=before.entries + entries,
            )
            opened = isoformat(state.account.created_at)[:7]
            first_month = min(first_month or opened, opened)
        update: dict[str, object] = {"totals": totals, "first_month": first_month}
        if page.position:
            update["position"] = page.position
        else:
            update |= {"phase": CheckPhase.TRANSFERS, "position": None, "month": first_month}
        return position.model_copy(update=update), len(page.states)

    def _transfers(
        self, position: CheckPosition, breaks: list[LedgerBreak], room: int
    ) -> tuple[CheckPosition, int]:
        this_month = isoformat(self.clock.now())[:7]
        if position.month is None or position.month > this_month:
            if position.court is None:
                breaks.extend(unbalanced(position.totals))
            return self._start_digest(position, breaks), 0
        page = self.listing.transfers_in_month(
            _month_start(position.month), limit=room, position=position.position
        )
        breaks.extend(self._legs_without_entries(page.transfers, court_prefix(position.court)))
        if page.position:
            return position.model_copy(update={"position": page.position}), len(page.transfers)
        following = _next_month(position.month)
        return position.model_copy(update={"month": following, "position": None}), len(
            page.transfers
        )

    def _start_digest(self, position: CheckPosition, breaks: list[LedgerBreak]) -> CheckPosition:
        done = position.model_copy(update={"phase": CheckPhase.DONE, "position": None})
        if self.digests is None:
            return done
        try:
            latest = self.digests.latest()
        except DigestInvalid as exc:
            breaks.append(
                LedgerBreak(account_id="*", seq=0, kind=AuditBreakKind.DIGEST, detail=exc.detail)
            )
            return done
        if latest is None:
            return done
        return done.model_copy(
            update={"phase": CheckPhase.DIGEST, "digest": latest.digest.number, "digest_offset": 0}
        )

    def _digest(
        self, position: CheckPosition, breaks: list[LedgerBreak], room: int
    ) -> tuple[CheckPosition, int]:
        """Every head the digest published must still be in its account's chain."""
        if self.digests is None or position.digest is None:
            raise InvalidAuditQuery("the cursor names a digest this ledger does not publish")
        signed = self.digests.number(position.digest)
        compared = self.digests.compare(
            signed,
            offset=position.digest_offset,
            limit=room,
            prefix=court_prefix(position.court),
        )
        breaks.extend(compared.breaks)
        if compared.next_offset is None:
            return position.model_copy(update={"phase": CheckPhase.DONE}), compared.compared
        return position.model_copy(update={"digest_offset": compared.next_offset}), max(
            compared.compared, 1
        )

    def _legs_without_entries(
        self, recorded: list[RecordedTransfer], prefix: str
    ) -> list[LedgerBreak]:
        """Every leg of these transfers must still have the entry it wrote, naming it."""
        found: list[LedgerBreak] = []
        wanted: list[tuple[str, int, str]] = []
        for item in recorded:
            for leg in item.transfer.legs:
                if not leg.account_id.startswith(prefix):
                    continue
                seq = item.entry_seqs.get(leg.account_id)
                if seq is None:
                    found.append(
                        LedgerBreak(
                            account_id=leg.account_id,
                            seq=0,
                            kind=AuditBreakKind.MISSING,
                            detail=f"transfer {item.transfer.id} moves money on this account "
                            "but records no entry for it",
                        )
                    )
                    continue
                wanted.append((leg.account_id, seq, item.transfer.id))
        stored = self.listing.entries_at([(account, seq) for account, seq, _ in wanted])
        for account, seq, transfer_id in wanted:
            if (account, seq) not in stored:
                found.append(
                    LedgerBreak(
                        account_id=account,
                        seq=seq,
                        kind=AuditBreakKind.MISSING,
                        detail=f"transfer {transfer_id} wrote entry {seq} on this account, "
                        "which is no longer stored",
                    )
                )
                continue
            entry = stored[(account, seq)]
            if entry is None or entry.transfer_id != transfer_id:
                found.append(
                    LedgerBreak(
                        account_id=account,
                        seq=seq,
                        kind=AuditBreakKind.TRANSFER,
                        detail=f"entry {seq} should record transfer {transfer_id}, "
                        f"but records {entry.transfer_id if entry else 'something unreadable'}",
                    )
                )
        return found


def unbalanced(totals: dict[str, CurrencyTotals]) -> list[LedgerBreak]:
    """Double entry: per currency, posted debits equal posted credits, pending likewise."""
    found = []
    for currency, sums in sorted(totals.items()):
        posted = sums.credits_posted - sums.debits_posted
        pending = sums.credits_pending - sums.debits_pending
        if posted or pending:
            found.append(
                LedgerBreak(
                    account_id="*",
                    seq=0,
                    kind=AuditBreakKind.UNBALANCED,
                    detail=f"the {currency} balances of all accounts sum to {posted} fen posted "
                    f"and {pending} fen pending, not zero: the trial balance does not add up",
                )
            )
    return found
