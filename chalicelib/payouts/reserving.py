"""The money held for a disbursement: reserved in the ledger when its chain completes (a
pending transfer from the case account to ``SYS-PAYOUTS``, under an id derived from the
disbursement and attempt, so a retried approval reserves once), and released when it ends
unpaid or its attempt fails.

The reservation is a planned ledger posting committed in the same TransactWriteItems as the
change that needs it (the chain's last approval, or a reissue): money is never held for a
disbursement that does not say so, whatever point a crash hits.

``Reserving`` is part of ``DisbursementWorkflow``.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.approvals import ApprovalChanged
from chalicelib.dynamo import CONDITION_FAILED, cancellation_reasons
from chalicelib.ledger import (
    InsufficientFunds,
    PendingNotActive,
    PendingState,
    TransferNotFound,
    postings,
)
from chalicelib.payouts.changes import ENDED_STATES
from chalicelib.payouts.errors import ChangedMeanwhile, OverAvailable
from chalicelib.payouts.models import Disbursement

if TYPE_CHECKING:
    from chalicelib.approvals import ApprovalService, Planned
    from chalicelib.clock import Clock
    from chalicelib.ledger import LedgerService, PlannedPosting, Transfer
    from chalicelib.payouts.store import PayoutStore
    from chalicelib.settings import Settings

LEDGER_ACTOR = "system:payouts"
# The ledger's timeout of a disbursement's reservation, the longest the ledger allows: a
# backstop only (see ``commit_reserving``), at least 35 days past the longest reservation setting.
LEDGER_BACKSTOP_DAYS = 400
# Plans of the reservation tried before giving up: each retry follows another posting on the
# case account that moved it between our read and our commit.
RESERVE_ATTEMPTS = 4
# How the ledger reads a transaction that failed without a cancellation reason per item.
_CONTENDED = ("TransactionConflict",)


class _AccountMoved(Exception):
    """The case account moved between planning the reservation and committing it."""


class _ReservedBefore(Exception):
    """The reservation's transfer id is taken: a reservation made before this code wrote the
    approval in the same transaction (a crash between the two left it held)."""


class Reserving:
    if TYPE_CHECKING:
        _ledger: LedgerService
        _clock: Clock
        _settings: Settings
        approvals: ApprovalService
        store: PayoutStore

        def _due(self, d: Disbursement) -> datetime | None: ...

        def save(
            self, before: Disbursement, after: Disbursement, **kwargs: Any
        ) -> Disbursement: ...
        def withdraw_clock(self, d: Disbursement) -> None: ...

    def commit_reserving(
        self,
        before: Disbursement,
        after: Disbursement,
        *,
        planned: Planned | None,
        extra: list[dict[str, Any]],
    ) -> Disbursement:
        """Write ``after`` (an attempt that now holds its money) with the approval's step, if
        any, ``extra`` items and the reservation, in one transaction; answer it with
        ``reserved_until`` set. The payouts sweeper ends an unreleased reservation itself
        (``RELEASE_MARGIN`` before ``reserved_until``); the ledger's own timeout is only a
        backstop far beyond, so money on its way to the creditor is never freed while the rail
        still has it."""
        for _ in range(RESERVE_ATTEMPTS):
            try:
                posting = self._plan_reservation(after)
            except OverAvailable:
                held = self._held_before(after)
                if held is None:
                    raise
                return self._write(before, self._until(after, held), planned, extra, None)
            try:
                return self._write(
                    before, self._until(after, posting.transfer), planned, extra, posting
                )
            except _AccountMoved:
                continue
            except _ReservedBefore:
                held = self._held_before(after)
                if held is None:
                    raise ChangedMeanwhile(
                        "this attempt's reservation was released meanwhile; reload it",
                        disbursement_id=after.disbursement_id,
                    ) from None
                return self._write(before, self._until(after, held), planned, extra, None)
        raise ChangedMeanwhile(
            "the case account kept changing while the money was reserved; try again",
            disbursement_id=after.disbursement_id,
        )

    def _until(self, d: Disbursement, reservation: Transfer) -> Disbursement:
        days = self._settings.payout_reservation_days
        until = reservation.created_at + timedelta(days=days)
        return d.model_copy(update={"reserved_until": until})

    def _plan_reservation(self, d: Disbursement) -> PlannedPosting:
        request = postings.disbursement_reservation(
            id=d.reservation_id,
            account=d.account_number,
            amount=d.amount,
            currency=d.currency,
            requested_by=LEDGER_ACTOR,
            disbursement_id=d.disbursement_id,
            attempt=d.attempt,
            case_id=d.case_id,
            creditor_party_id=d.creditor_party_id,
            timeout_seconds=LEDGER_BACKSTOP_DAYS * 24 * 3600,
        )
        try:
            return self._ledger.plan_transfer(request)
        except InsufficientFunds as error:
            raise OverAvailable(
                "the case account no longer has this amount available; another disbursement "
                "or refund reserved it first",
            ) from error

    def _held_before(self, d: Disbursement) -> Transfer | None:
        """This attempt's reservation, if one is held already (made before the approval and
        its reservation were one transaction, and left by a crash)."""
        try:
            found = self._ledger.get_transfer(d.reservation_id)
        except TransferNotFound:
            return None
        return found if found.state == PendingState.PENDING else None

    def _write(
        self,
        before: Disbursement,
        after: Disbursement,
        planned: Planned | None,
        extra: list[dict[str, Any]],
        posting: PlannedPosting | None,
    ) -> Disbursement:
        approval = list(planned.writes) if planned is not None else []
        put = self.store.put_item(after, expected_version=before.version, due=self._due(after))
        head = [*approval, put, *extra]
        try:
            self.store.commit_items([*head, *(posting.items if posting else ())])
        except Exception as error:
            reasons = cancellation_reasons(error)
            cancelled = (
                posting.cancelled(tuple(reasons[len(head) :]) if reasons else _CONTENDED)
                if posting is not None
                else None
            )
            if reasons is None:
                raise
            failed = [k for k, code in enumerate(reasons[: len(head)]) if code == CONDITION_FAILED]
            if failed and failed[0] < len(approval):
                raise ApprovalChanged("the approval changed since it was read") from error
            if failed:
                raise ChangedMeanwhile(
                    "the disbursement was changed meanwhile; reload it",
                    disbursement_id=after.disbursement_id,
                ) from error
            if cancelled is not None and cancelled.transfer_exists:
                raise _ReservedBefore from error
            if cancelled is not None and (cancelled.stale_accounts or cancelled.contended):
                raise _AccountMoved from error
            raise
        if posting is not None:
            posting.committed()
        return after

    def release_reservation(self, d: Disbursement) -> None:
        # expired by the ledger's own sweeper, or never reserved: nothing is held
        with suppress(PendingNotActive, TransferNotFound):
            self._ledger.void_pending(
                d.reservation_id, id=f"{d.reservation_id}:void", requested_by=LEDGER_ACTOR
            )

    def withdraw_open_requests(self, d: Disbursement) -> None:
        """An ended disbursement's deferral or staff release still waiting for approvers is
        withdrawn from their queues: deciding it could no longer move anything."""
        last = d.trail[-1] if d.trail else None
        asks = (d.deferral, d.staff_release_request)
        for chain in {ask.approval_id for ask in asks if ask is not None}:
            self.approvals.withdraw_ended(
                chain,
                by_subject=LEDGER_ACTOR,
                by_name=last.actor if last else LEDGER_ACTOR,
                reason=f"the disbursement was {d.state.value}",
            )

    def clear_ended(self, d: Disbursement) -> Disbursement:
        """The sweeper's half of ``_end`` (and of a failed attempt): release the reservation
        (a replay if done already) and take the disbursement off the work list. A failed or
        returned one keeps its clock: it is reissued, not ended."""
        self.release_reservation(d)
        if d.state in ENDED_STATES:
            self.withdraw_clock(d)
            self.withdraw_open_requests(d)
        cleared = d.model_copy(update={"reservation_cleared": True, "version": d.version + 1})
        return self.save(d, cleared)
