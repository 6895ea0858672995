"""The disbursement workflow before money leaves: propose, approve through the approval chain
(reserving the money), reject, cancel, defer, ask for a staff release, reissue, and send a new
claim link.

The approvals capability decides (chains of amount tiers per court, the requester never
decides, nobody approves twice, each step its role); every decision is committed in one
TransactWriteItems with the disbursement's change, conditional on its version. Money is
reserved in the ledger (a pending transfer from the case account to ``SYS-PAYOUTS``) when the
chain completes, in the same transaction as the last approval, under an id derived from the
disbursement and attempt, so a retried approval reserves once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.approvals import (
    ApprovalNotFound,
    ApprovalService,
    ApprovalStatus,
    ChainKind,
    Decision,
    OwnerItemRefused,
    Planned,
    approval_id,
)
from chalicelib.cases import CaseService, CaseStatus, PartyRole
from chalicelib.cases.models import PartyType
from chalicelib.clock import Clock
from chalicelib.dynamo import cancellation_reasons
from chalicelib.identity import Principal
from chalicelib.ledger import LedgerService
from chalicelib.money import Money
from chalicelib.notifications import Notifier
from chalicelib.payouts import claims
from chalicelib.payouts.asking import Asking
from chalicelib.payouts.bodies import ProposeDisbursement
from chalicelib.payouts.changes import advance, due_for
from chalicelib.payouts.deferrals import Deferrals
from chalicelib.payouts.errors import (
    ChangedMeanwhile,
    CreditorRefused,
    DestinationChanged,
    DisbursementNotFound,
    OverAvailable,
    StateRefused,
)
from chalicelib.payouts.models import (
    Approval,
    Destination,
    Disbursement,
    DisbursementState,
)
from chalicelib.payouts.proposing import Proposing
from chalicelib.payouts.reserving import Reserving
from chalicelib.payouts.store import PayoutStore
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.deadlines import DeadlineService

log = logging.getLogger(__name__)
S = DisbursementState


class DisbursementWorkflow(Proposing, Asking, Deferrals, Reserving):
    def __init__(
        self,
        store: PayoutStore,
        *,
        cases: CaseService,
        ledger: LedgerService,
        approvals: ApprovalService,
        deadlines: DeadlineService,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.store = store
        self.approvals = approvals
        self._deadlines = deadlines
        self._cases = cases
        self._ledger = ledger
        self._notifier = notifier
        self._clock = clock
        self._settings = settings

    # -- reading -----------------------------------------------------------------------------

    def get(self, disbursement_id: str) -> Disbursement:
        found = self.store.get(disbursement_id)
        if found is None:
            raise DisbursementNotFound(f"no disbursement {disbursement_id}")
        return found

    def of_case(self, case_id: str) -> list[Disbursement]:
        """Every disbursement of a case, oldest first (the case page)."""
        return self.store.of_case(case_id)

    def queue(self, court: str, state: DisbursementState, *, limit: int) -> list[Disbursement]:
        """A court's disbursements in one state, oldest proposal first."""
        return self.store.queue(court, state, limit=limit)

    def _due(self, d: Disbursement) -> datetime | None:
        s = self._settings
        return due_for(
            d,
            self._clock.now(),
            grace=timedelta(seconds=s.payout_step_grace_seconds),
            poll=timedelta(minutes=s.payout_poll_minutes),
        )

    def save(self, before: Disbursement, after: Disbursement, **kwargs: Any) -> Disbursement:
        self.store.save(after, expected_version=before.version, due=self._due(after), **kwargs)
        return after

    def commit(
        self,
        planned: Planned,
        before: Disbursement,
        after: Disbursement,
        extra: list[dict[str, Any]] | None = None,
    ) -> Disbursement:
        """The approval's step and the disbursement's change, together or not at all."""
        put = self.store.put_item(after, expected_version=before.version, due=self._due(after))
        try:
            self.approvals.commit(planned, [put, *(extra or [])])
        except OwnerItemRefused as error:
            raise ChangedMeanwhile(
                "the disbursement was changed meanwhile; reload it",
                disbursement_id=after.disbursement_id,
            ) from error
        return after

    def chain_approved(self, kind: ChainKind, item_id: str) -> bool:
        """Whether the approval chain of an item is complete, as the approvals table says."""
        return self.approvals_complete(approval_id(kind, item_id))

    def approvals_complete(self, approval: str) -> bool:
        try:
            return self.approvals.get(approval).status == ApprovalStatus.APPROVED
        except ApprovalNotFound:
            return False

    # -- proposing ---------------------------------------------------------------------------

    def _propose(
        self,
        case_id: str,
        body: ProposeDisbursement,
        *,
        by: Principal,
        disbursement_id: str,
        digest: str | None,
    ) -> Disbursement:
        case = self._cases.get(case_id)
        if case.status != CaseStatus.OPEN:
            raise StateRefused(f"the case is {case.status.value}; only an open case pays out")
        party = next((p for p in case.parties if p.party_id == body.creditor_party_id), None)
        if party is None or party.role != PartyRole.CREDITOR:
            raise CreditorRefused("the party is not a creditor of this case")
        if party.receiving_account is None:
            raise CreditorRefused("the creditor has no receiving account confirmed at filing")
        if body.fund_type not in case.fund_types:
            raise CreditorRefused(f"the case holds no {body.fund_type.value} funds")
        available = self._ledger.balance(case.account_number).available
        if body.amount > available:
            raise OverAvailable(
                f"the case account has {available} fen available (pending included); "
                f"{body.amount} fen were asked",
                available=available,
            )
        now = self._clock.now()
        account = party.receiving_account
        proposed = Disbursement(
            disbursement_id=disbursement_id,
            case_id=case.case_id,
            case_number=case.case_number,
            court_code=case.court_code,
            court_name=case.court_name,
            account_number=case.account_number,
            creditor_party_id=party.party_id,
            creditor_name=party.name,
            creditor_is_person=party.type == PartyType.PERSON,
            creditor_phone=party.phone,
            destination=Destination(
                bank_name=account.bank_name,
                account_name=account.account_name,
                account_number=account.account_number,
            ),
            amount=body.amount,
            currency=case.currency,
            fund_type=body.fund_type,
            note=body.note,
            state=S.PROPOSED,
            version=0,
            proposed_by=by.subject,
            proposed_by_actor=by.actor,
            proposed_at=now,
            updated_at=now,
            approvals_needed=1,
            request_digest=digest,
        )
        planned = self.approvals.plan_open(
            ChainKind.DISBURSEMENT,
            proposed.disbursement_id,
            court=case.court_code,
            amount=Money(body.amount, case.currency),
            requester=by,
            summary=f"{case.case_number} {party.name}",
        )
        created = advance(
            proposed.model_copy(update={"approvals_needed": len(planned.approval.steps)}),
            None, at=now, actor=by.actor, action="proposed",
        )  # fmt: skip
        try:
            self.approvals.commit(planned, self.store.created_items(created))
        except Exception as error:  # two twins committing at once: DynamoDB cancels one
            if cancellation_reasons(error) is None:
                raise
            raise ChangedMeanwhile(
                "another request wrote this disbursement at the same time",
                disbursement_id=disbursement_id,
            ) from error
        return created

    # -- the approval chain ------------------------------------------------------------------

    def approve(self, disbursement_id: str, *, by: Principal, note: str = "") -> Disbursement:
        """One step of the chain (the approvals capability checks who may take it); the last
        step reserves the money and sends the creditor the claim link."""
        d = self.get(disbursement_id)
        if d.state != S.PROPOSED:
            raise StateRefused(f"the disbursement is {d.state.value}; only a proposal is approved")
        planned = self.approvals.plan_decision(
            approval_id(ChainKind.DISBURSEMENT, disbursement_id), Decision.APPROVE, by=by,
            text=note or None,
        )  # fmt: skip
        now = self._clock.now()
        approvals = (*d.approvals, Approval(subject=by.subject, actor=by.actor, at=now, note=note))
        pending = d.model_copy(update={"approvals": approvals})
        if planned.approval.status != ApprovalStatus.APPROVED:
            level = f"step {len(approvals)} of {d.approvals_needed}"
            changed = advance(pending, None, at=now, actor=by.actor, action="approved",
                              detail=level)  # fmt: skip
            return self.commit(planned, d, changed)
        self._refuse_stale_destination(d)
        approved = advance(
            pending, S.APPROVED, at=now, actor=by.actor, action="approved",
            detail="approval chain complete; money reserved",
        )  # fmt: skip
        linked = self._with_claim_link(d, approved, planned, reserve=True)
        self.start_clock(linked)
        return linked

    def _refuse_stale_destination(self, d: Disbursement) -> None:
        """Money is reserved only for the account confirmed now: an approved change of the
        creditor's account (in cases) outdates a disbursement proposed with the old one."""
        party = self._cases.get(d.case_id).creditor(d.creditor_party_id)
        account = party.receiving_account if party is not None else None
        if account is None or (account.bank_name, account.account_number) != (
            d.destination.bank_name,
            d.destination.account_number,
        ):
            raise DestinationChanged(
                "the creditor's receiving account was changed after this disbursement was "
                "proposed; propose a new disbursement to the account confirmed now",
                disbursement_id=d.disbursement_id,
            )

    def _with_claim_link(
        self,
        before: Disbursement,
        after: Disbursement,
        planned: Planned | None = None,
        *,
        reserve: bool = False,
    ) -> Disbursement:
        """Save ``after`` (with the approval's last step, if any, and with the reservation of
        its money if ``reserve``); for a person, with a new claim link, then tell them by
        SMS."""
        if not after.creditor_is_person:  # organisations are paid by finance directly
            return self._write_change(before, after, planned, [], reserve=reserve)
        code = claims.new_code()
        digest = claims.code_hash(code)
        expires = self._clock.now() + timedelta(days=self._settings.claim_link_days)
        linked = after.model_copy(update={"claim_ref": digest, "claim_expires_at": expires})
        item = self.store.claim_item(digest, after.disbursement_id, after.attempt, expires)
        linked = self._write_change(before, linked, planned, [item], reserve=reserve)
        try:
            self._notifier.notify(claims.claim_notice(linked, code, self._settings.public_base_url))
        except Exception:
            # the money stays reserved; the clerk can send a new link from the case page
            log.exception("payouts: the claim link for %s was not sent", after.disbursement_id)
        return linked

    def _write_change(
        self,
        before: Disbursement,
        after: Disbursement,
        planned: Planned | None,
        extra: list[dict[str, Any]],
        *,
        reserve: bool,
    ) -> Disbursement:
        if reserve:
            return self.commit_reserving(before, after, planned=planned, extra=extra)
        if planned is not None:
            return self.commit(planned, before, after, extra)
        return self.save(before, after, extra=extra)

    def reject(self, disbursement_id: str, *, by: Principal, reason: str) -> Disbursement:
        d = self.get(disbursement_id)
        changed = advance(d, S.REJECTED, at=self._clock.now(), actor=by.actor,
                          action="rejected", detail=reason)  # fmt: skip
        planned = self.approvals.plan_decision(
            approval_id(ChainKind.DISBURSEMENT, disbursement_id), Decision.REJECT, by=by,
            text=reason,
        )  # fmt: skip
        return self._end(d, changed, planned)

    def cancel(self, disbursement_id: str, *, by: Principal, reason: str) -> Disbursement:
        """Withdraw before release: in the chain, the proposer (or an admin) withdraws it there
        too; once approved, the money held for it goes back to the case."""
        d = self.get(disbursement_id)
        changed = advance(d, S.CANCELLED, at=self._clock.now(), actor=by.actor,
                          action="cancelled", detail=reason)  # fmt: skip
        planned = None
        if d.state == S.PROPOSED:
            planned = self.approvals.plan_cancel(
                approval_id(ChainKind.DISBURSEMENT, disbursement_id), by=by, reason=reason
            )
        return self._end(d, changed, planned)

    def _end(
        self, before: Disbursement, ended: Disbursement, planned: Planned | None
    ) -> Disbursement:
        """Record the end first (it wins or loses against a release on the version), then
        release the money; a crash in between leaves it for the sweeper (``clear_ended``)."""
        if planned is not None:
            self.commit(planned, before, ended)
        else:
            self.save(before, ended)
        self.release_reservation(ended)
        self.withdraw_clock(ended)
        self.withdraw_open_requests(ended)
        return ended

    def reissue(self, disbursement_id: str, *, by: Principal, note: str = "") -> Disbursement:
        """After a failure or a return: reserve again and wait for a new release."""
        d = self.get(disbursement_id)
        if d.state not in (S.FAILED, S.RETURNED):
            raise StateRefused("only a failed or returned payout is reissued")
        self._refuse_stale_destination(d)
        self.release_reservation(d)  # the last attempt's, if a crash left it held
        again = d.model_copy(
            update={
                "attempt": d.attempt + 1, "release": None, "staff_release_request": None,
                "rail_reference": None, "rail_status": None, "reservation_cleared": False,
            }
        )  # fmt: skip
        changed = advance(again, S.APPROVED, at=self._clock.now(), actor=by.actor,
                          action="reissued", detail=note or None,
                          failure_reason=None)  # fmt: skip
        return self._with_claim_link(d, changed, reserve=True)

    def send_new_claim_link(self, disbursement_id: str, *, by: Principal) -> Disbursement:
        d = self.get(disbursement_id)
        if d.state not in (S.APPROVED, S.DEFERRED) or not d.creditor_is_person:
            raise StateRefused("a claim link is for a person's approved disbursement")
        changed = advance(d, None, at=self._clock.now(), actor=by.actor,
                          action="new claim link sent")  # fmt: skip
        return self._with_claim_link(d, changed)
