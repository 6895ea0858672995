"""The approval chain's rules: who may take the step that waits, and what it leads to.

Every change is planned first (``plan_*``: the new approval and the one DynamoDB write that
stores it), then committed, alone or in one TransactWriteItems with the owner's own writes,
so that an owner's state and the decision it acts on change together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.approvals.chains import ChainBook, ChainKind
from chalicelib.approvals.errors import (
    AlreadyApprovedInChain,
    ApprovalChanged,
    ApprovalExists,
    ApprovalNotFound,
    DecisionIncomplete,
    NotRequester,
    NotWaiting,
    RequesterCannotDecide,
    StepNeedsRole,
)
from chalicelib.approvals.models import (
    Action,
    Approval,
    ApprovalStatus,
    Decision,
    HistoryEntry,
    approval_id,
)
from chalicelib.approvals.store import ApprovalStore
from chalicelib.clock import Clock
from chalicelib.identity.roles import Principal, Role
from chalicelib.money import Money
from chalicelib.problems import FieldProblem

MIN_TEXT = 2
MAX_TEXT = 500

# The instant a number of working days after another, on the court's working-day calendar
# (public holidays off, make-up weekends worked); the composition root passes it in.
DueAfter = Callable[[datetime, int], datetime]


@dataclass(frozen=True)
class Planned:
    """An approval as it will be once ``writes`` commit. ``writes`` is empty when there is
    nothing to store (opening an item again with the same details)."""

    approval: Approval
    writes: tuple[dict[str, Any], ...]


def _text(value: str | None, *, field: str, needed: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if needed:
            raise DecisionIncomplete(
                f"give the {field}", errors=[FieldProblem(pointer=f"/{field}", detail="required")]
            )
        return None
    if not MIN_TEXT <= len(text) <= MAX_TEXT:
        raise DecisionIncomplete(
            f"the {field} is {MIN_TEXT} to {MAX_TEXT} characters",
            errors=[FieldProblem(pointer=f"/{field}", detail="2 to 500 characters")],
        )
    return text


class ApprovalService:
    def __init__(
        self,
        store: ApprovalStore,
        clock: Clock,
        chains: ChainBook,
        *,
        overdue_working_days: int,
        due_after: DueAfter,
    ) -> None:
        self.store = store
        self._clock = clock
        self._chains = chains
        self._overdue_days = overdue_working_days
        self._due_after = due_after

    # -- reading ----------------------------------------------------------------------------

    def get(self, approval_id: str) -> Approval:
        found = self.store.get(approval_id)
        if found is None:
            raise ApprovalNotFound(f"no approval {approval_id}")
        return found

    def of_item(self, kind: ChainKind, item_id: str) -> Approval | None:
        return self.store.get(approval_id(kind, item_id))

    def due_at(self, approval: Approval) -> datetime:
        return self._due_after(approval.waiting_since, self._overdue_days)

    def is_overdue(self, approval: Approval) -> bool:
        return not approval.status.final and self._clock.now() > self.due_at(approval)

    def waiting_for(self, who: Principal, court: str, *, limit: int = 100) -> list[Approval]:
        """What waits for ``who`` at ``court``: steps needing one of their roles that they may
        take (not their own request, not a chain they already approved in)."""
        found: list[Approval] = []
        for role in sorted(who.roles):
            # read on past the steps this person may not take (their own requests, chains they
            # approved in), so those never hide the ones waiting for them
            taken = 0
            for page in self.store.waiting_pages(court, role.value, page_size=limit):
                for approval in page:
                    if approval.requested_by_subject == who.subject:
                        continue
                    if who.subject in approval.approvers:
                        continue
                    found.append(approval)
                    taken += 1
                if taken >= limit:
                    break
        found.sort(key=lambda a: (a.waiting_since, a.id))
        return found[:limit]

    def asked_by(self, who: Principal, *, limit: int = 100) -> list[Approval]:
        """What ``who`` asked for, newest first, whatever its status."""
        return self.store.asked_by(who.subject, limit=limit)

    def overdue(self, court: str, role: Role, *, limit: int = 100) -> list[Approval]:
        """Steps of ``role`` at ``court`` waiting longer than the overdue setting allows,
        oldest first (the queue index is ordered by how long a step has waited)."""
        found = []
        for approval in self.store.waiting(court, role.value, limit=limit):
            if not self.is_overdue(approval):
                break
            found.append(approval)
        return found

    # -- planning ---------------------------------------------------------------------------

    def plan_open(
        self,
        kind: ChainKind,
        item_id: str,
        *,
        court: str,
        amount: Money,
        requester: Principal,
        summary: str = "",
    ) -> Planned:
        """Open the approval of an item; its chain is chosen now, by court, kind and amount.
        Opening the same item again with the same details plans nothing."""
        now = self._clock.now()
        steps = self._chains.chain(court, kind).steps_for(amount.fen)
        approval = Approval(
            id=approval_id(kind, item_id),
            kind=kind,
            item_id=item_id,
            court=court,
            amount_fen=amount.fen,
            currency=amount.currency,
            summary=summary,
            requested_by_subject=requester.subject,
            requested_by_name=requester.name,
            steps=steps,
            opened_at=now,
            waiting_since=now,
            history=(
                HistoryEntry(
                    at=now,
                    action=Action.OPENED,
                    by_subject=requester.subject,
                    by_name=requester.name,
                    text=summary or None,
                ),
            ),
        )
        existing = self.store.get(approval.id)
        if existing is not None:
            same = (existing.court, existing.amount_fen, existing.currency) == (
                court,
                amount.fen,
                amount.currency,
            ) and existing.requested_by_subject == requester.subject
            if not same:
                raise ApprovalExists(f"{approval.id} is already open with other details")
            return Planned(existing, ())
        return Planned(approval, (self.store.put_item(approval, seen_version=None),))

    def plan_decision(
        self, approval_id: str, decision: Decision, *, by: Principal, text: str | None = None
    ) -> Planned:
        """Approve, reject (``text`` is the reason) or return for information (``text`` is
        the question) the step that waits. The rules are by token subject: the requester
        never decides, nobody approves twice in one chain, the step needs its role."""
        current = self.get(approval_id)
        step = current.current_step
        if current.status != ApprovalStatus.PENDING or step is None:
            raise NotWaiting(
                f"{approval_id} is {current.status.value}; no step waits for a decision"
            )
        if by.subject == current.requested_by_subject:
            raise RequesterCannotDecide("you asked for this, so someone else must decide it")
        if by.subject in current.approvers:
            raise AlreadyApprovedInChain("you already approved a step of this chain")
        if step.role not in by.roles:
            raise StepNeedsRole(f"this step needs the role {step.role.value} ({step.title})")
        needed = {Decision.APPROVE: None, Decision.REJECT: "reason", Decision.RETURN: "question"}
        field = needed[decision]
        written = _text(text, field=field or "note", needed=field is not None)
        now = self._clock.now()
        action, status, next_step = {
            Decision.APPROVE: (
                Action.APPROVED,
                ApprovalStatus.APPROVED
                if current.next_step + 1 == len(current.steps)
                else ApprovalStatus.PENDING,
                current.next_step + 1,
            ),
            Decision.REJECT: (Action.REJECTED, ApprovalStatus.REJECTED, current.next_step),
            Decision.RETURN: (Action.RETURNED, ApprovalStatus.RETURNED, current.next_step),
        }[decision]
        entry = HistoryEntry(
            at=now,
            action=action,
            by_subject=by.subject,
            by_name=by.name,
            role=step.role,
            step=current.next_step,
            text=written,
        )
        return self._planned(current, entry, status=status, next_step=next_step)

    def plan_answer(self, approval_id: str, *, by: Principal, answer: str) -> Planned:
        """The requester answers a return; the same step waits again, from now."""
        current = self.get(approval_id)
        if by.subject != current.requested_by_subject:
            raise NotRequester("only the person who asked can answer the question")
        if current.status != ApprovalStatus.RETURNED:
            raise NotWaiting(f"{approval_id} is {current.status.value}; no question waits")
        entry = HistoryEntry(
            at=self._clock.now(),
            action=Action.ANSWERED,
            by_subject=by.subject,
            by_name=by.name,
            text=_text(answer, field="answer", needed=True),
        )
        return self._planned(current, entry, status=ApprovalStatus.PENDING)

    def plan_cancel(self, approval_id: str, *, by: Principal, reason: str) -> Planned:
        """Withdraw an approval that is not decided yet: the requester, or an admin."""
        current = self.get(approval_id)
        if by.subject != current.requested_by_subject and Role.ADMIN not in by.roles:
            raise NotRequester("only the person who asked, or an admin, can cancel this")
        if current.status.final:
            raise NotWaiting(f"{approval_id} is already {current.status.value}")
        entry = HistoryEntry(
            at=self._clock.now(),
            action=Action.CANCELLED,
            by_subject=by.subject,
            by_name=by.name,
            text=_text(reason, field="reason", needed=True),
        )
        return self._planned(current, entry, status=ApprovalStatus.CANCELLED)

    def withdraw_ended(
        self, approval_id: str, *, by_subject: str, by_name: str, reason: str
    ) -> bool:
        """The owner withdraws a chain whose item ended without it (a disbursement cancelled
        or expired while a deferral or a staff release waited for approvers), so no queue shows
        a decision that could no longer act. Recorded in the history as cancelled, by whoever
        ended the item. False when there was nothing to withdraw: no such chain, already
        decided or withdrawn, or acted on meanwhile (the next sweep looks again)."""
        try:
            current = self.get(approval_id)
        except ApprovalNotFound:
            return False
        if current.status.final:
            return False
        entry = HistoryEntry(
            at=self._clock.now(),
            action=Action.CANCELLED,
            by_subject=by_subject,
            by_name=by_name,
            text=_text(reason, field="reason", needed=True),
        )
        try:
            self.commit(self._planned(current, entry, status=ApprovalStatus.CANCELLED))
        except ApprovalChanged:
            return False
        return True

    def _planned(
        self,
        current: Approval,
        entry: HistoryEntry,
        *,
        status: ApprovalStatus,
        next_step: int | None = None,
    ) -> Planned:
        moved = next_step is not None and next_step != current.next_step
        changed = current.model_copy(
            update={
                "status": status,
                "next_step": current.next_step if next_step is None else next_step,
                "version": current.version + 1,
                "history": (*current.history, entry),
                "waiting_since": entry.at
                if moved or entry.action in (Action.ANSWERED, Action.RETURNED)
                else current.waiting_since,
            }
        )
        return Planned(changed, (self.store.put_item(changed, seen_version=current.version),))

    # -- committing -------------------------------------------------------------------------

    def commit(self, planned: Planned, owner_writes: Sequence[dict[str, Any]] = ()) -> Approval:
        """Store a plan, with the owner's writes in the same TransactWriteItems. The approval's
        write comes first: ``ApprovalChanged`` if someone acted on it meanwhile,
        ``OwnerItemRefused`` if one of the owner's conditions failed; then nothing is stored."""
        writes = [*planned.writes, *owner_writes]
        if writes:
            self.store.commit(writes, approval_at=0 if planned.writes else None)
        return planned.approval

    def open(
        self,
        kind: ChainKind,
        item_id: str,
        *,
        court: str,
        amount: Money,
        requester: Principal,
        summary: str = "",
    ) -> Approval:
        return self.commit(
            self.plan_open(
                kind, item_id, court=court, amount=amount, requester=requester, summary=summary
            )
        )

    def decide(
        self, approval_id: str, decision: Decision, *, by: Principal, text: str | None = None
    ) -> Approval:
        return self.commit(self.plan_decision(approval_id, decision, by=by, text=text))

    def answer(self, approval_id: str, *, by: Principal, answer: str) -> Approval:
        return self.commit(self.plan_answer(approval_id, by=by, answer=answer))

    def cancel(self, approval_id: str, *, by: Principal, reason: str) -> Approval:
        return self.commit(self.plan_cancel(approval_id, by=by, reason=reason))
