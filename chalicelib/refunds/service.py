"""The refund workflow: requests and drafts, the approval chain, cancellation and reissue.

Paying the money back (the reservation, the rail or the bank, the rail's answer) is
``Payback``'s job; this module hands an approved refund to it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence

from chalicelib.approvals import (
    Approval,
    ApprovalService,
    ApprovalStatus,
    ChainKind,
    Decision,
    OwnerItemRefused,
    Planned,
    approval_id,
)
from chalicelib.clock import Clock
from chalicelib.idempotency import check_same_request, keyed_id, request_digest
from chalicelib.identity import Principal, Role
from chalicelib.money import Money, format_yuan
from chalicelib.problems import ProblemError
from chalicelib.refunds.changes import SWEEPER, moved, require
from chalicelib.refunds.errors import (
    NotRefundRequester,
    RefundChanged,
    RefundExceedsPayment,
    RefundNotFound,
    UnidentifiedRefundedWhole,
)
from chalicelib.refunds.models import (
    Attempt,
    Origin,
    ReasonCode,
    Refund,
    RefundEvent,
    RefundSource,
    RefundState,
    RequestRefund,
    SourceKind,
)
from chalicelib.refunds.payback import Payback
from chalicelib.refunds.sources import Sources
from chalicelib.refunds.store import RefundStore, Write, raise_for

log = logging.getLogger(__name__)

_AFTER_APPROVAL = {
    ApprovalStatus.PENDING: RefundState.SUBMITTED,
    ApprovalStatus.RETURNED: RefundState.RETURNED,
    ApprovalStatus.APPROVED: RefundState.APPROVED,
    ApprovalStatus.REJECTED: RefundState.REJECTED,
    ApprovalStatus.CANCELLED: RefundState.CANCELLED,
}


class RefundService:
    def __init__(
        self,
        store: RefundStore,
        clock: Clock,
        *,
        approvals: ApprovalService,
        sources: Sources,
        payback: Payback,
    ) -> None:
        self.store = store
        self._clock = clock
        self._approvals = approvals
        self._sources = sources
        self.payback = payback

    # -- reading -----------------------------------------------------------------------------

    def get(self, refund_id: str) -> Refund:
        found = self.store.get(refund_id)
        if found is None:
            raise RefundNotFound(f"no refund {refund_id}")
        return found

    def approval(self, refund_id: str) -> Approval | None:
        return self._approvals.of_item(ChainKind.REFUND, refund_id)

    def queue(self, court: str, state: RefundState, *, limit: int = 50) -> list[Refund]:
        return self.store.by_state(state, court, limit=limit)

    def of_payment(self, payment_id: str) -> list[Refund]:
        """The refunds of one online payment, for its receipt."""
        return self.store.of_source("online", payment_id)

    # -- asking ------------------------------------------------------------------------------

    def request(
        self,
        body: RequestRefund,
        *,
        by: Principal,
        check: Callable[[RefundSource], None] | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        """A clerk's request, kept as a draft until it is submitted to the chain. ``check``
        sees the payment it returns before anything is stored (the court's scoping). With
        ``idempotency_key``, the same key and request from the same person give the same
        refund; the same key with another request is refused."""
        refund_id, digest = f"rf-{secrets.token_hex(8)}", None
        if idempotency_key is not None:
            refund_id = keyed_id("rf-", subject=by.subject, key=idempotency_key, hex_length=16)
            digest = request_digest(body.model_dump(mode="json"))
            existing = self.store.get(refund_id)
            if existing is not None:
                check_same_request(existing.request_digest, digest, item_id=refund_id)
                return existing
        source = self._sources.resolve(body.source_kind, body.source_reference, court=body.court)
        if check is not None:
            check(source)
        try:
            return self._add(
                refund_id,
                source,
                body.amount,
                body.reason_code,
                origin=Origin.CLERK,
                by=by,
                reason_text=body.reason_text,
                note=body.note,
                request_digest=digest,
            )
        except RefundChanged:
            if digest is None:
                raise
            # its twin wrote it first (one conditional put: it is there now)
            twin = self.get(refund_id)
            check_same_request(twin.request_digest, digest, item_id=refund_id)
            return twin

    def draft(
        self,
        refund_id: str,
        source: RefundSource,
        amount: int,
        reason_code: ReasonCode,
        *,
        origin: Origin,
        note: str,
    ) -> Refund | None:
        """An automatic draft, once per ``refund_id``; None when there is nothing left to
        refund of that payment or the draft exists."""
        if self.store.get(refund_id) is not None:
            return None
        held = self.store.held(source)
        room = source.paid - held
        if min(amount, room) <= 0:
            return None
        try:
            return self._add(
                refund_id,
                source,
                min(amount, room),
                reason_code,
                origin=origin,
                by=SWEEPER,
                note=note,
                held=held,
            )
        except ProblemError:
            return None  # drafted by a concurrent run

    def _add(
        self,
        refund_id: str,
        source: RefundSource,
        amount: int,
        reason_code: ReasonCode,
        *,
        origin: Origin,
        by: Principal,
        reason_text: str | None = None,
        note: str | None = None,
        held: int | None = None,
        request_digest: str | None = None,
    ) -> Refund:
        held = self.store.held(source) if held is None else held
        if amount > source.paid - held:
            raise RefundExceedsPayment(
                f"{source.reference} brought in {format_yuan(source.paid)} yuan and its refunds "
                f"hold {format_yuan(held)}; at most {format_yuan(source.paid - held)} is left",
                paid=source.paid,
                held=held,
            )
        if source.kind == SourceKind.UNIDENTIFIED and amount != source.paid - held:
            # its last approval takes the whole payment out of the claim queue: a part left
            # over could be neither refunded nor claimed
            raise UnidentifiedRefundedWhole(
                f"{source.reference} brought in {format_yuan(source.paid)} yuan; refund all "
                f"{format_yuan(source.paid - held)} yuan left of it, or claim it to a case",
                paid=source.paid,
                held=held,
            )
        now = self._clock.now()
        refund = Refund(
            refund_id=refund_id,
            source=source,
            amount=amount,
            currency=source.currency,
            reason_code=reason_code,
            reason_text=reason_text,
            note=note,
            origin=origin,
            state=RefundState.DRAFT,
            request_digest=request_digest,
            created_at=now,
            updated_at=now,
            history=(
                RefundEvent(
                    at=now,
                    state=RefundState.DRAFT,
                    by_subject=by.subject,
                    by_name=by.name,
                    note=note,
                ),
            ),
        )
        self.store.commit([self.store.put(refund, seen_version=None)])
        return refund

    # -- the approval chain ------------------------------------------------------------------

    def submit(self, refund_id: str, *, by: Principal) -> Refund:
        """Send a draft to its chain; the one who submits is the requester, who never approves.
        A clerk's request is submitted by that clerk (by token subject): were another person to
        submit it, its author would no longer count as the one who asked and could approve it.
        An automatic draft has no author, so whoever submits it asks for it."""
        refund = self.get(refund_id)
        require(refund, RefundState.DRAFT)
        author = refund.history[0].by_subject
        if author not in (SWEEPER.subject, by.subject):
            raise NotRefundRequester(
                "only the clerk who asked for this refund submits it; ask them, or cancel it "
                "and ask again"
            )
        what = refund.source.case_number or refund.source.reference
        planned = self._approvals.plan_open(
            ChainKind.REFUND,
            refund_id,
            court=refund.source.court,
            amount=Money(refund.amount, refund.currency),
            requester=by,
            summary=f"{refund.reason_code.value}: {what}",
        )
        after = moved(refund, RefundState.SUBMITTED, by=by, at=self._clock.now())
        return self._commit(planned, after, [self.store.put(after, seen_version=refund.version)])

    def decide(
        self, refund_id: str, decision: Decision, *, by: Principal, text: str | None
    ) -> Refund:
        """An approver's step. The last approval holds the money of the payment and hands the
        refund to payback, which reserves it in the ledger and pays it back."""
        refund = self.get(refund_id)
        require(refund, RefundState.SUBMITTED)
        planned = self._approvals.plan_decision(
            approval_id(ChainKind.REFUND, refund_id), decision, by=by, text=text
        )
        state = _AFTER_APPROVAL[planned.approval.status]
        updates = {}
        if state == RefundState.APPROVED:
            updates["attempts"] = (self._attempt(refund),)
        after = moved(refund, state, by=by, at=self._clock.now(), note=text, **updates)
        writes = [self.store.put(after, seen_version=refund.version)]
        if state == RefundState.APPROVED:
            writes.append(self.store.hold(refund.source, refund.amount))
            unclaimable = self._sources.hold(refund.source, refund_id)
            if unclaimable is not None:
                writes.append(unclaimable)
        done = self._commit(planned, after, writes)
        return self.payback.start(done) if state == RefundState.APPROVED else done

    def answer(self, refund_id: str, *, by: Principal, answer: str) -> Refund:
        refund = self.get(refund_id)
        require(refund, RefundState.RETURNED)
        planned = self._approvals.plan_answer(
            approval_id(ChainKind.REFUND, refund_id), by=by, answer=answer
        )
        after = moved(refund, RefundState.SUBMITTED, by=by, at=self._clock.now(), note=answer)
        return self._commit(planned, after, [self.store.put(after, seen_version=refund.version)])

    def cancel(self, refund_id: str, *, by: Principal, reason: str) -> Refund:
        """Withdraw a refund not yet sent: a draft, one in the chain (the requester or an
        admin), an approved one (its reservation is released) or a failed one.

        The cancellation is stored before the reservation is voided: the refund's conditional
        write is where a cancellation and a payment racing for it meet (sending to the rail or
        recording a bank transfer writes ``processing`` on the same version first), so money is
        never released while it is being paid out. The write queues the void for the sweeper,
        which finishes it after a crash and closes the queue's entry."""
        refund = self.get(refund_id)
        require(
            refund,
            RefundState.DRAFT,
            RefundState.SUBMITTED,
            RefundState.RETURNED,
            RefundState.APPROVED,
            RefundState.FAILED,
        )
        _may_withdraw(refund, by)
        after = moved(refund, RefundState.CANCELLED, by=by, at=self._clock.now(), note=reason)
        writes = [self.store.put(after, seen_version=refund.version)]
        if refund.state in (RefundState.SUBMITTED, RefundState.RETURNED):
            planned = self._approvals.plan_cancel(
                approval_id(ChainKind.REFUND, refund_id), by=by, reason=reason
            )
            return self._commit(planned, after, writes)
        if refund.state in (RefundState.APPROVED, RefundState.FAILED):
            unclaimable = self._sources.release(refund.source, refund_id)
            if unclaimable is not None:
                writes.append(unclaimable)
        if refund.state == RefundState.APPROVED:
            writes += [
                self.store.release(refund.source, refund.amount),
                self.store.queue_void(after),
            ]
        self.store.commit(writes)
        if refund.state == RefundState.APPROVED:
            # the void queue's entry stays for the sweeper to close (a replayed void), so the
            # cancellation itself is one write
            self.payback.void_reservation(after)
        return after

    def reissue(self, refund_id: str, *, by: Principal) -> Refund:
        """A failed refund tried again as a new attempt: the money is held and reserved again,
        without a new approval (the decision stands; only the payment back failed)."""
        refund = self.get(refund_id)
        require(refund, RefundState.FAILED)
        attempts = (*refund.attempts, self._attempt(refund))
        after = moved(
            refund,
            RefundState.APPROVED,
            by=by,
            at=self._clock.now(),
            note="reissued",
            attempts=attempts,
        )
        self.store.commit(
            [
                self.store.put(after, seen_version=refund.version),
                self.store.hold(refund.source, refund.amount),
            ]
        )
        return self.payback.start(after)

    def _attempt(self, refund: Refund) -> Attempt:
        number = len(refund.attempts) + 1
        return Attempt(
            number=number,
            reservation_id=f"refund-{refund.refund_id}-{number}",
            started_at=self._clock.now(),
        )

    def _commit(self, planned: Planned, after: Refund, writes: Sequence[Write]) -> Refund:
        try:
            self._approvals.commit(planned, [w.item for w in writes])
        except OwnerItemRefused as refused:
            raise_for(refused.reasons, writes, refused)
            raise
        return after


def _may_withdraw(refund: Refund, by: Principal) -> None:
    """Who withdraws a refund outside the chain (in the chain, the approvals' rule holds: the
    requester or an admin): a draft, the clerk who asked for it (anyone for an automatic
    draft) or an admin; a decided refund (approved, or failed and not reissued), the one who
    asked for it, finance, or an admin: a colleague does not undo the chain's decision."""
    if refund.state not in (RefundState.DRAFT, RefundState.APPROVED, RefundState.FAILED):
        return
    if Role.ADMIN in by.roles:
        return
    if refund.state == RefundState.DRAFT:
        author = refund.history[0].by_subject
        if author in (SWEEPER.subject, by.subject):
            return
        raise NotRefundRequester("only the clerk who asked for this draft, or an admin, cancels it")
    asked = next((e.by_subject for e in refund.history if e.state == RefundState.SUBMITTED), None)
    if by.subject == asked or Role.FINANCE in by.roles:
        return
    raise NotRefundRequester(
        "the chain decided this refund: only the clerk who asked for it, finance or an admin "
        "withdraws it"
    )
