"""The money held for a disbursement: reserved in the ledger when its chain completes (a
pending transfer from the case account to ``SYS-PAYOUTS``, under an id derived from the
disbursement and attempt, so a retried approval reserves once), and released when it ends
unpaid or its attempt fails.

``Reserving`` is part of ``DisbursementWorkflow``.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.ledger import InsufficientFunds, PendingNotActive, TransferNotFound, postings
from chalicelib.payouts.changes import ENDED_STATES
from chalicelib.payouts.errors import OverAvailable
from chalicelib.payouts.models import Disbursement

if TYPE_CHECKING:
    from chalicelib.approvals import ApprovalService
    from chalicelib.clock import Clock
    from chalicelib.ledger import LedgerService
    from chalicelib.settings import Settings

LEDGER_ACTOR = "system:payouts"
# The ledger's timeout of a disbursement's reservation, the longest the ledger allows: a
# backstop only (see ``_reserve``), at least 35 days past the longest reservation setting.
LEDGER_BACKSTOP_DAYS = 400


class Reserving:
    if TYPE_CHECKING:
        _ledger: LedgerService
        _clock: Clock
        _settings: Settings
        approvals: ApprovalService

        def save(
            self, before: Disbursement, after: Disbursement, **kwargs: Any
        ) -> Disbursement: ...
        def withdraw_clock(self, d: Disbursement) -> None: ...

    def _reserve(self, d: Disbursement) -> datetime:
        """Hold the money; answer until when the reservation waits for a release. The
        payouts sweeper ends an unreleased one itself (``RELEASE_MARGIN`` before that); the
        ledger's own timeout is only a backstop far beyond, so money on its way to the
        creditor is never freed while the rail still has it."""
        days = self._settings.payout_reservation_days
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
            transfer = self._ledger.transfer(request)
        except InsufficientFunds as error:
            raise OverAvailable(
                "the case account no longer has this amount available; another disbursement "
                "or refund reserved it first",
            ) from error
        return transfer.created_at + timedelta(days=days)

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
