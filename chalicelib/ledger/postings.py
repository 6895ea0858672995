"""Every way money moves in the books, in one place: the transfer each capability posts, with
its accounts, reason code, id and the metadata an auditor reads back.

Capabilities build their transfers here and post them through the ledger service; the ledger
checks them like any other request. A transfer's id is its idempotency key: money from a rail is
keyed by the rail's own reference, so one rail movement posts once whichever way it arrives.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.clock import isoformat
from chalicelib.ledger.models import (
    CorrectionProposal,
    SystemAccount,
    TransferCode,
    TransferRequest,
)


def rail_transfer_id(rail: str, reference: str) -> str:
    """One rail movement, one ledger transfer: the id is the rail's own reference."""
    return f"rail:{rail}:{reference}"


def rail_collection(
    *,
    rail: str,
    reference: str,
    account: str,
    amount: int,
    currency: str,
    payment_id: str,
    case_id: str,
) -> TransferRequest:
    """案款收取: money the rail received for a case, from clearing to the case account."""
    return TransferRequest.between(
        id=rail_transfer_id(rail, reference),
        debit=SystemAccount.PAYMENT_CLEARING.of(currency),
        credit=account,
        amount=amount,
        code=TransferCode.COLLECTION,
        requested_by=f"rail:{rail}",
        currency=currency,
        metadata={"payment_id": payment_id, "rail_reference": reference, "case_id": case_id},
    )


def unidentified_receipt(
    *, rail: str, reference: str, amount: int, currency: str, why: str
) -> TransferRequest:
    """不明款入账: money the rail received with no recognisable case, into unidentified funds
    under the same id a case posting would have used."""
    return TransferRequest.between(
        id=rail_transfer_id(rail, reference),
        debit=SystemAccount.PAYMENT_CLEARING.of(currency),
        credit=SystemAccount.UNIDENTIFIED_FUNDS.of(currency),
        amount=amount,
        code=TransferCode.UNIDENTIFIED_RECEIPT,
        requested_by=f"rail:{rail}",
        currency=currency,
        metadata={"rail_reference": reference, "why": why},
    )


def unidentified_claim(
    *,
    id: str,
    account: str,
    amount: int,
    currency: str,
    claimed_by: str,
    confirmed_by: str,
    reason: str,
    payment_ref: str | None = None,
) -> TransferRequest:
    """认领: unidentified money moved to the case it belongs to, proposed by one person and
    confirmed by another."""
    metadata = {"reason": reason, "confirmed_by": confirmed_by}
    if payment_ref:
        metadata["payment_ref"] = payment_ref
    return TransferRequest.between(
        id=id,
        debit=SystemAccount.UNIDENTIFIED_FUNDS.of(currency),
        credit=account,
        amount=amount,
        code=TransferCode.UNIDENTIFIED_CLAIM,
        requested_by=claimed_by,
        currency=currency,
        metadata=metadata,
    )


def counter_cash_entry(
    *,
    id: str,
    account: str,
    amount: int,
    currency: str,
    receipt_no: str,
    received_at: datetime,
    entered_by: str,
    confirmed_by: str,
) -> TransferRequest:
    """现场交款补录: cash taken at the counter, entered into the case account by one person
    and confirmed by another, with its paper receipt number."""
    return TransferRequest.between(
        id=id,
        debit=SystemAccount.CASH_AT_COUNTER.of(currency),
        credit=account,
        amount=amount,
        code=TransferCode.CASH_BACK_ENTRY,
        requested_by=entered_by,
        currency=currency,
        metadata={
            "receipt_no": receipt_no,
            "received_at": isoformat(received_at),
            "confirmed_by": confirmed_by,
        },
    )


def correction(proposal: CorrectionProposal, *, posted_by: str) -> TransferRequest:
    """更正: a correction proposed by one person and posted by another in finance."""
    return TransferRequest.between(
        id=f"correction-{proposal.id}",
        debit=proposal.debit_account,
        credit=proposal.credit_account,
        amount=proposal.amount,
        code=TransferCode.CORRECTION,
        requested_by=posted_by,
        currency=proposal.currency,
        metadata={
            "proposal_id": proposal.id,
            "proposed_by": proposal.proposed_by,
            "reason": proposal.reason,
        },
    )


def refund_reservation(
    *,
    id: str,
    account: str,
    amount: int,
    currency: str,
    requested_by: str,
    refund_id: str,
    attempt: int,
    source: str,
) -> TransferRequest:
    """退付: an approved refund's money held (pending) from the case account or unidentified
    funds to refunds in transit, until the rail or finance says it was paid back."""
    return TransferRequest.between(
        id=id,
        debit=account,
        credit=SystemAccount.REFUNDS_IN_TRANSIT.of(currency),
        amount=amount,
        code=TransferCode.REFUND,
        requested_by=requested_by,
        currency=currency,
        pending=True,
        metadata={"refund_id": refund_id, "attempt": str(attempt), "source": source},
    )


def disbursement_reservation(
    *,
    id: str,
    account: str,
    amount: int,
    currency: str,
    requested_by: str,
    disbursement_id: str,
    attempt: int,
    case_id: str,
    creditor_party_id: str,
    timeout_seconds: int,
) -> TransferRequest:
    """案款发放: an approved disbursement's money held (pending) from the case account to
    payouts in transit, until the payout rail says it was paid, or the hold expires."""
    return TransferRequest.between(
        id=id,
        debit=account,
        credit=SystemAccount.PAYOUTS_IN_TRANSIT.of(currency),
        amount=amount,
        code=TransferCode.DISBURSEMENT,
        requested_by=requested_by,
        currency=currency,
        metadata={
            "disbursement_id": disbursement_id,
            "attempt": str(attempt),
            "case_id": case_id,
            "creditor_party_id": creditor_party_id,
        },
        pending=True,
        timeout_seconds=timeout_seconds,
    )


def rail_fee(
    *, id: str, rail_reference: str, rail_source: str, amount: int, currency: str
) -> TransferRequest:
    """The payment rail's processing fee, booked from its balance transaction by
    reconciliation."""
    return TransferRequest.between(
        id=id,
        debit=SystemAccount.RAIL_FEES.of(currency),
        credit=SystemAccount.PAYMENT_CLEARING.of(currency),
        amount=amount,
        code=TransferCode.RAIL_FEE,
        requested_by="reconciliation",
        currency=currency,
        metadata={"rail_reference": rail_reference, "rail_source": rail_source},
    )
