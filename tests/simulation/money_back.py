"""What must hold of money going back and money put right: no refund beyond its payment, a
correction posted only by a second person and exactly once, each refund and each fee the rail
took one ledger transfer, and the refunds and fees accounts moved by exactly their sum.

Each check answers None when it holds, else a sentence that says what broke, for the report.
"""

from __future__ import annotations

from collections import defaultdict

from chalicelib import wiring
from chalicelib.ledger import SystemAccount
from chalicelib.reconciliation.service import day_window, fee_transfer_id
from chalicelib.refunds import RefundState
from tests.simulation.simulator import World

HOLDING = (RefundState.APPROVED, RefundState.PROCESSING, RefundState.PAID)


def no_refund_beyond_its_payment(w: World, refunds_written: bool = True) -> str | None:
    """At the rail, no payment gives back more than it took; in the court's books (read when
    the step wrote refunds), the refunds that hold a payment's money (approved, in flight or
    paid) never add up to more than it brought in, and what the payment's record says is
    held is exactly their sum."""
    for payment in w.rail.payments.values():
        refunded = w.rail.refunded(payment.reference)
        if refunded > payment.amount:
            return (
                f"the rail refunded {refunded} fen of payment {payment.reference} "
                f"of {payment.amount}"
            )
    if not w.refunds or not refunds_written:
        return None
    service = wiring.refund_service()
    holding: dict[str, int] = defaultdict(int)
    sources = {}
    for refund_id in w.refunds:
        refund = service.get(refund_id)
        key = f"{refund.source.kind.value} {refund.source.reference}"
        sources[key] = refund.source
        if refund.state in HOLDING:
            holding[key] += refund.amount
    for key, source in sorted(sources.items()):
        if holding[key] > source.paid:
            return f"refunds of {key} hold {holding[key]} fen; it brought in {source.paid}"
        held = service.store.held(source)
        if held != holding[key]:
            return f"refunds of {key} are recorded as holding {held} fen; they hold {holding[key]}"
    return None


def corrections_by_four_eyes(w: World) -> str | None:
    """A correction moves money only once posted, by someone other than its proposer, as
    exactly one transfer of its amount; one open or rejected has moved nothing."""
    if not w.corrections:
        return None
    ledger = wiring.ledger_service()
    transfers = ledger.transfers(f"correction-{p}" for p in w.corrections)
    for proposal_id in w.corrections:
        proposal = ledger.proposal(proposal_id)
        moved = transfers.get(f"correction-{proposal_id}")
        if proposal.status.value != "posted":
            if moved is not None:
                return f"correction {proposal_id} is {proposal.status.value} but moved money"
            continue
        if proposal.decider_subject == proposal.proposer_subject:
            return f"correction {proposal_id} was posted by its own proposer"
        if moved is None or moved.amount != proposal.amount:
            return f"correction {proposal_id} is posted but its transfer is {moved}"
    return None


def each_refund_posted_once(w: World) -> str | None:
    """Once quiet: every refund the rail paid is one ledger transfer of its amount keyed by
    the rail's refund; a refund the rail failed posted nothing; the refunds account moved by
    exactly what the rail and the banks paid back (a run that asked for none is not read)."""
    if not w.refunds:
        return None
    ledger = wiring.ledger_service()
    paid_at_rail = {
        f"refund-paid:{r.reference}": r
        for r in w.rail.refunds.values()
        if r.status.value != "pending"
    }
    found = ledger.transfers(paid_at_rail)
    total = 0
    for transfer_id, refund in paid_at_rail.items():
        posted = found[transfer_id].amount if transfer_id in found else None
        if refund.status.value == "succeeded":
            total += refund.amount
            if posted != refund.amount:
                return f"rail refund {refund.reference} of {refund.amount} fen posted as {posted}"
        elif posted is not None:
            return f"rail refund {refund.reference} {refund.status.value} but posted {posted}"
    service = wiring.refund_service()
    for refund_id in w.refunds:
        refund = service.get(refund_id)
        attempt = refund.attempts[-1] if refund.attempts else None
        if refund.state == RefundState.PAID and attempt and attempt.bank_reference:
            total += refund.amount
    from tests.simulation.invariants import system_posted

    moved = system_posted(SystemAccount.REFUNDS_IN_TRANSIT.of())
    if moved != total:
        return f"the refunds account moved {moved} fen; the rail and the banks paid back {total}"
    return None


def fees_booked(w: World) -> int | str:
    """Once quiet: every fee the rail took on a day reconciled is one ledger transfer of its
    amount, and the rail fees account moved by exactly their sum, which is answered (the
    clearing account is checked with it); a sentence when something is off."""
    if not w.reconciled:
        return 0  # nothing reconciled, no fee booked: the clearing check says if one was
    fees = {}
    for day in sorted(w.reconciled):
        start, end = day_window(day)
        for movement in w.rail.balance_transactions(start, end):
            if movement.fee:
                fees[fee_transfer_id(w.rail.name, movement.id)] = movement.fee
    found = wiring.ledger_service().transfers(fees)
    for transfer_id, fee in sorted(fees.items()):
        booked = found[transfer_id].amount if transfer_id in found else None
        if booked != fee:
            return f"the rail took a fee of {fee} fen; {transfer_id} booked {booked}"
    from tests.simulation.invariants import system_posted

    total = sum(fees.values())
    moved = system_posted(SystemAccount.RAIL_FEES.of())
    if moved != -total:
        return f"the rail fees account moved {moved} fen for {total} fen of fees"
    return total
