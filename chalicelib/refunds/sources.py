"""Where a refund's money came from: a rail payment, counter cash or unidentified funds, read
from collection (and the case for its court), as the ``RefundSource`` a refund keeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.ledger import SystemAccount
from chalicelib.refunds.errors import RefundChanged, SourceNotFound, SourceNotRefundable
from chalicelib.refunds.models import RefundSource, SourceKind
from chalicelib.refunds.store import Write

if TYPE_CHECKING:
    from chalicelib.cases import CaseService
    from chalicelib.collection import CollectionService


class Sources:
    def __init__(self, collection: CollectionService, cases: CaseService) -> None:
        self._collection = collection
        self._cases = cases

    def resolve(self, kind: SourceKind, reference: str, *, court: str | None) -> RefundSource:
        if kind == SourceKind.ONLINE:
            return self._online(reference)
        if kind == SourceKind.COUNTER_CASH:
            return self._counter_cash(reference)
        return self._unidentified(reference, court=court)

    def _online(self, payment_id: str) -> RefundSource:
        from chalicelib.collection import PaymentNotFound, PaymentStatus

        try:
            payment = self._collection.payment(payment_id)
        except PaymentNotFound as error:
            raise SourceNotFound(f"no payment {payment_id}") from error
        if payment.status != PaymentStatus.SUCCEEDED or payment.paid_at is None:
            raise SourceNotRefundable(
                f"payment {payment_id} is {payment.status.value}; only money received is refunded"
            )
        return RefundSource(
            kind=SourceKind.ONLINE,
            reference=payment_id,
            paid=payment.amount_received or payment.amount,
            currency=payment.currency,
            court=payment.case.court_code,
            ledger_account=payment.case.account_number,
            case_id=payment.case.case_id,
            case_number=payment.case.case_number,
            rail_reference=payment.rail_reference,
            received_at=payment.paid_at,
        )

    def _counter_cash(self, transfer_id: str) -> RefundSource:
        cash = self._collection.store.counter_cash(transfer_id)
        if cash is None:
            raise SourceNotFound(f"no counter cash entered under {transfer_id}")
        case = self._cases.get(cash.case_id)
        return RefundSource(
            kind=SourceKind.COUNTER_CASH,
            reference=transfer_id,
            paid=cash.amount,
            currency=cash.currency,
            court=case.court_code,
            ledger_account=cash.account_number,
            case_id=case.case_id,
            case_number=case.case_number,
            received_at=cash.received_at,
        )

    def _unidentified(self, reference: str, *, court: str | None) -> RefundSource:
        from chalicelib.collection import ClaimStatus

        item = self._collection.store.unidentified(reference)
        if item is None:
            raise SourceNotFound(f"no unidentified funds under {reference}")
        if item.status == ClaimStatus.REFUNDED:
            raise SourceNotRefundable(f"{reference} is being refunded by {item.refund_id}")
        if item.status != ClaimStatus.OPEN or item.claim_transfer_id is not None:
            # marked by a claim's posting: the money went to a case even before it reads claimed
            raise SourceNotRefundable(f"{reference} was claimed to a case; refund it from there")
        if not court:
            raise SourceNotRefundable("name the court deciding this refund of unidentified funds")
        return RefundSource(
            kind=SourceKind.UNIDENTIFIED,
            reference=reference,
            paid=item.amount,
            currency=item.currency,
            court=court,
            ledger_account=SystemAccount.UNIDENTIFIED_FUNDS.of(item.currency),
            rail_reference=item.reference,
            received_at=item.received_at,
        )

    # -- unidentified money: a refund or a claim, never both ---------------------------------

    def hold(self, source: RefundSource, refund_id: str) -> Write | None:
        """For unidentified funds, the write (joining the refund's last approval) that takes the
        money out of collection's claim queue, refused if it was claimed meanwhile; money of a
        case needs none (the case account and the payment's hold guard it)."""
        if source.kind != SourceKind.UNIDENTIFIED:
            return None
        item = self._collection.store.unidentified(source.reference)
        if item is None:
            raise SourceNotFound(f"no unidentified funds under {source.reference}")
        refused = SourceNotRefundable(
            f"{source.reference} was claimed to a case meanwhile; refund it from there"
        )
        return Write(self._collection.store.refund_hold(item, refund_id), refused)

    def release(self, source: RefundSource, refund_id: str) -> Write | None:
        """The write that puts unidentified funds back in the claim queue when their refund is
        cancelled."""
        if source.kind != SourceKind.UNIDENTIFIED:
            return None
        item = self._collection.store.unidentified(source.reference)
        if item is None:
            raise SourceNotFound(f"no unidentified funds under {source.reference}")
        refused = RefundChanged(f"{source.reference} is no longer held by {refund_id}; reload")
        return Write(self._collection.store.refund_release(item, refund_id), refused)
