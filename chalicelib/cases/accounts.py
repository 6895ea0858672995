"""Changing a creditor's receiving account after filing: its own approved change, with history.

The case's clerk proposes the new account (its holder's name must match the creditor's, as at
filing); the ``payee_change`` approval chain decides, by token subject, so the proposer never
approves. Nothing pays to the proposed account until the chain's last step, which replaces the
account on the case and keeps the old one in the case's trail. Every step is committed in one
TransactWriteItems with the case's change and its trail line, so the two never disagree.

A change is refused while a disbursement to that creditor is under way (proposed, approved,
deferred or on its way to the bank): each disbursement pins the account it was proposed with,
and its approvers and the creditor's face check approved that account, not a later one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.approvals import (
    Action,
    ApprovalStatus,
    ChainKind,
    Decision,
    OwnerItemRefused,
    approval_id,
)
from chalicelib.cases.errors import (
    AccountChangeRefused,
    AccountHolderMismatch,
    CreditorNotFound,
    NoAccountChangeWaiting,
    ReceivingAccountInUse,
)
from chalicelib.cases.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Party,
    PendingAccountChange,
    ProposeReceivingAccount,
    ReceivingAccount,
)
from chalicelib.cases.store import CasesStore
from chalicelib.clock import Clock
from chalicelib.identity import Principal
from chalicelib.money import Money
from chalicelib.problems import FieldProblem

if TYPE_CHECKING:
    from chalicelib.approvals import ApprovalService, Planned

# (case id, creditor's party id) -> ids of that creditor's disbursements under way. Built by
# the composition root over the payouts capability, which sits above cases.
DisbursementsUnderWay = Callable[[str, str], list[str]]

KIND = ChainKind.PAYEE_CHANGE


def _account(bank_name: str, account_name: str, account_number: str) -> dict[str, str]:
    return {"bank_name": bank_name, "account_name": account_name, "account_number": account_number}


class ReceivingAccountChanges:
    def __init__(
        self,
        store: CasesStore,
        approvals: ApprovalService,
        clock: Clock,
        under_way: DisbursementsUnderWay,
    ) -> None:
        self._store = store
        self._approvals = approvals
        self._clock = clock
        self._under_way = under_way

    def propose(
        self, case: Case, party_id: str, body: ProposeReceivingAccount, *, by: Principal
    ) -> Case:
        """Open the change's approval; the case records the proposal and pays the old account
        until the chain approves."""
        party = self._creditor(case, party_id)
        if body.account_name != party.name:
            raise AccountHolderMismatch(
                "the receiving account's name must match the creditor's name",
                errors=[
                    FieldProblem(pointer="/account_name", detail=f"the creditor is {party.name}")
                ],
            )
        if case.status is CaseStatus.CONCLUDED:
            raise AccountChangeRefused("the case is concluded; nothing more is paid from it")
        if party.pending_account_change is not None:
            raise AccountChangeRefused(
                "a change of this creditor's account already waits for approval",
                change_id=party.pending_account_change.change_id,
            )
        current = party.receiving_account
        if current is not None and (current.bank_name, current.account_number) == (
            body.bank_name,
            body.account_number,
        ):
            raise AccountChangeRefused("this is the account confirmed already")
        self._refuse_under_way(case, party_id)
        now = self._clock.now()
        pending = PendingAccountChange(
            change_id="ra" + uuid.uuid4().hex[:20],
            bank_name=body.bank_name,
            account_name=body.account_name,
            account_number=body.account_number,
            reason=body.reason,
            proposed_by=by.actor,
            proposed_by_subject=by.subject,
            proposed_at=now,
        )
        changed, event = self._changed(
            case,
            party.model_copy(update={"pending_account_change": pending}),
            by=by,
            action="receiving_account_proposed",
            reason=body.reason,
            details={
                "party_id": party_id,
                "change_id": pending.change_id,
                "old": self._current(party),
                "new": _account(body.bank_name, body.account_name, body.account_number),
            },
        )
        planned = self._approvals.plan_open(
            KIND,
            pending.change_id,
            court=case.court_code,
            # What rides on the account: a court may add a tier above an amount.
            amount=Money(case.adjudicated_amount, case.currency),
            requester=by,
            summary=f"收款账户变更 {case.case_number} {party.name}",
        )
        return self._commit(planned, case, changed, event)

    def approve(self, case: Case, party_id: str, *, by: Principal, note: str = "") -> Case:
        """Take the step that waits; the last one replaces the account."""
        party, pending = self._waiting(case, party_id)
        planned = self._approvals.plan_decision(
            approval_id(KIND, pending.change_id), Decision.APPROVE, by=by, text=note or None
        )
        base = {"party_id": party_id, "change_id": pending.change_id}
        if planned.approval.status is not ApprovalStatus.APPROVED:
            changed, event = self._changed(
                case,
                party,
                by=by,
                action="receiving_account_step_approved",
                reason=note or None,
                details={**base, "step": planned.approval.next_step},
            )
            return self._commit(planned, case, changed, event)
        self._refuse_under_way(case, party_id)
        now = self._clock.now()
        new = ReceivingAccount(
            bank_name=pending.bank_name,
            account_name=pending.account_name,
            account_number=pending.account_number,
            confirmed_at=now,
            confirmed_by=by.actor,
        )
        approvers = [e.by_name for e in planned.approval.history if e.action is Action.APPROVED]
        changed, event = self._changed(
            case,
            party.model_copy(update={"receiving_account": new, "pending_account_change": None}),
            by=by,
            action="receiving_account_changed",
            reason=pending.reason,
            details={
                **base,
                "old": self._current(party),
                "new": _account(new.bank_name, new.account_name, new.account_number),
                "proposed_by": pending.proposed_by,
                "proposed_at": pending.proposed_at.isoformat(),
                "approved_by": approvers,
            },
        )
        return self._commit(planned, case, changed, event)

    def reject(self, case: Case, party_id: str, *, by: Principal, reason: str) -> Case:
        """End the change; the creditor keeps the account confirmed before."""
        _, pending = self._waiting(case, party_id)
        planned = self._approvals.plan_decision(
            approval_id(KIND, pending.change_id), Decision.REJECT, by=by, text=reason
        )
        return self._end_pending(case, party_id, planned, by=by, reason=reason, ended="rejected")

    def withdraw(self, case: Case, party_id: str, *, by: Principal, reason: str) -> Case:
        """The proposer (by token subject) or an admin withdraws a change not decided yet, a
        mistyped number for one; the creditor keeps the account confirmed before, and a new
        change may be proposed."""
        _, pending = self._waiting(case, party_id)
        planned = self._approvals.plan_cancel(
            approval_id(KIND, pending.change_id), by=by, reason=reason
        )
        return self._end_pending(case, party_id, planned, by=by, reason=reason, ended="withdrawn")

    def _end_pending(
        self, case: Case, party_id: str, planned: Planned, *, by: Principal, reason: str,
        ended: str,
    ) -> Case:  # fmt: skip
        """Drop the waiting change with the chain's last word; the case's trail keeps the
        account that was proposed."""
        party, pending = self._waiting(case, party_id)
        changed, event = self._changed(
            case,
            party.model_copy(update={"pending_account_change": None}),
            by=by,
            action=f"receiving_account_{ended}",
            reason=reason,
            details={
                "party_id": party_id,
                "change_id": pending.change_id,
                "new": _account(pending.bank_name, pending.account_name, pending.account_number),
            },
        )
        return self._commit(planned, case, changed, event)

    def ask(self, case: Case, party_id: str, *, by: Principal, question: str) -> Case:
        """The approver of the step that waits returns the change to its proposer with a
        question; nothing changes on the account meanwhile."""
        return self._step(
            case,
            party_id,
            by=by,
            action="receiving_account_returned",
            text=question,
            plan=lambda chain: self._approvals.plan_decision(
                chain, Decision.RETURN, by=by, text=question
            ),
        )

    def answer(self, case: Case, party_id: str, *, by: Principal, answer: str) -> Case:
        """The proposer (by token subject) answers; the same step waits again."""
        return self._step(
            case,
            party_id,
            by=by,
            action="receiving_account_answered",
            text=answer,
            plan=lambda chain: self._approvals.plan_answer(chain, by=by, answer=answer),
        )

    def _step(
        self,
        case: Case,
        party_id: str,
        *,
        by: Principal,
        action: str,
        text: str,
        plan: Callable[[str], Planned],
    ) -> Case:
        """A question or its answer on the change's chain, recorded in the case's history in
        the same transaction."""
        party, pending = self._waiting(case, party_id)
        planned = plan(approval_id(KIND, pending.change_id))
        changed, event = self._changed(
            case,
            party,
            by=by,
            action=action,
            reason=text,
            details={"party_id": party_id, "change_id": pending.change_id},
        )
        return self._commit(planned, case, changed, event)

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _creditor(case: Case, party_id: str) -> Party:
        party = case.creditor(party_id)
        if party is None:
            raise CreditorNotFound(f"case {case.case_number} has no creditor {party_id}")
        return party

    def _waiting(self, case: Case, party_id: str) -> tuple[Party, PendingAccountChange]:
        party = self._creditor(case, party_id)
        if party.pending_account_change is None:
            raise NoAccountChangeWaiting(
                f"no change of {party.name}'s receiving account waits for a decision"
            )
        return party, party.pending_account_change

    def _refuse_under_way(self, case: Case, party_id: str) -> None:
        found = self._under_way(case.case_id, party_id)
        if found:
            raise ReceivingAccountInUse(
                "a disbursement to this creditor is under way and pays the account it was "
                "proposed with; the account can change once it is paid or cancelled",
                disbursement_ids=sorted(found),
            )

    @staticmethod
    def _current(party: Party) -> dict[str, str] | None:
        account = party.receiving_account
        if account is None:
            return None
        return _account(account.bank_name, account.account_name, account.account_number)

    def _changed(
        self,
        case: Case,
        party: Party,
        *,
        by: Principal,
        action: str,
        reason: str | None,
        details: dict[str, Any],
    ) -> tuple[Case, CaseEvent]:
        now = self._clock.now()
        parties = [party if p.party_id == party.party_id else p for p in case.parties]
        changed = case.model_copy(
            update={"parties": parties, "updated_at": now, "version": case.version + 1}
        )
        event = CaseEvent(
            case_id=case.case_id,
            sequence=changed.version,
            at=now,
            actor=by.actor,
            action=action,
            reason=reason,
            details=details,
        )
        return changed, event

    def _commit(self, planned: Planned, case: Case, changed: Case, event: CaseEvent) -> Case:
        writes = self._store.changed_items(changed, event, expected_version=case.version)
        try:
            self._approvals.commit(planned, writes)
        except OwnerItemRefused as refused:
            raise AccountChangeRefused(
                "the case was changed by someone else at the same moment; reload and retry"
            ) from refused
        return changed
