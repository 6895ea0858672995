"""What must hold after every step of a simulation, and what must hold once it is quiet.

Each check answers None when it holds, else a sentence that says what broke, for the report.
"""

from __future__ import annotations

from collections import Counter

from chalicelib import wiring
from chalicelib.approvals import ChainKind
from chalicelib.audit.check import LedgerCheck
from chalicelib.ledger import SystemAccount, TransferNotFound
from chalicelib.ledger.listing import LedgerListing
from chalicelib.ledger.models import Counters
from chalicelib.ledger.shards import is_sharded
from chalicelib.notifications import OutboxNotifier
from chalicelib.payouts import DisbursementState, PayoutStatus
from chalicelib.payouts.models import ReleaseKind
from tests.simulation.simulator import World


def after_step(w: World) -> str | None:
    """Each invariant is checked when a step wrote what it is about (its table, the rail's
    movements, the outbox): one a step left alone holds as it held after the last check."""
    from tests.simulation import money_back

    written, w.faults.written = w.faults.written, set()
    tables = wiring.settings()
    chains = {tables.payouts_table, tables.identity_table, tables.approvals_table}
    payouts_moved = _changed(
        w, "payouts", tuple((k, p.status) for k, p in w.payouts.payouts.items())
    )
    notices = w.outbox / "notifications.jsonl"
    sent = _changed(w, "notices", notices.stat().st_size if notices.exists() else 0)
    return (
        _books_balance_and_chains_verify(w)
        or _no_case_below_zero(w)
        or (sent and _no_notice_twice(w))
        or ((payouts_moved or bool(written & chains)) and _payouts_released(w))
        or money_back.no_refund_beyond_its_payment(w, tables.refunds_table in written)
        or (tables.ledger_table in written and money_back.corrections_by_four_eyes(w))
        or None
    )


def _changed(w: World, what: str, now: object) -> bool:
    before = w.seen.get(what)
    w.seen[what] = now
    return before != now


def after_quiet(w: World) -> str | None:
    from tests.simulation import money_back

    return (
        _each_payment_posted_once(w)
        or _each_payout_settled_once(w)
        or money_back.each_refund_posted_once(w)
    )


def _books_balance_and_chains_verify(w: World) -> str | None:
    """Every account a step changed recomputes from its entries to its stored balance along
    an unbroken chain, and the books balance per currency over every account (posted and
    pending). Accounts a step did not write were verified when they last changed; the
    auditors' whole-ledger check runs at the end of ``make simulate`` runs."""
    ledger = wiring.ledger_service()
    touched, w.faults.touched = set(w.faults.touched), set()
    for account_id in sorted(touched):
        state = ledger.store.account_state(account_id)
        if state is None:
            return f"{account_id} was written but has no state"
        report = ledger.verify(account_id)
        if not report.ok and report.first_break is not None:
            found = report.first_break
            return f"{account_id}: chain breaks at {found.seq}: {found.detail}"
        if not is_sharded(account_id) and report.recomputed != state.totals:
            return f"{account_id}: balance {state.totals} but its entries give {report.recomputed}"
        w.balances[account_id] = (state.account.currency, state.totals)
    sums: dict[str, tuple[int, int]] = {}
    for currency, totals in w.balances.values():
        posted, pending = sums.get(currency, (0, 0))
        sums[currency] = (
            posted + totals.posted,
            pending + totals.credits_pending - totals.debits_pending,
        )
    for currency, (posted, pending) in sorted(sums.items()):
        if posted or pending:
            return f"the {currency} books do not balance: {posted} posted, {pending} pending"
    return None


def audit(w: World) -> str | None:
    """The auditors' whole-ledger check, as the daily job runs it."""
    ledger = wiring.ledger_service()
    check = LedgerCheck(ledger, LedgerListing(ledger.store), wiring.clock())
    for page in check.run():
        if page.breaks:
            first = page.breaks[0]
            return f"ledger check: {first.kind.value} on {first.account_id}: {first.detail}"
    return None


def _no_case_below_zero(w: World) -> str | None:
    """From the balances just verified: no case account below zero, reservations included."""
    for case in w.cases:
        _, totals = w.balances.get(case.account_number, ("CNY", Counters()))
        if totals.posted < 0 or totals.available < 0:
            return (
                f"case account {case.account_number} below zero: posted {totals.posted}, "
                f"available {totals.available} fen"
            )
    return None


def _no_notice_twice(w: World) -> str | None:
    deliveries = OutboxNotifier(w.outbox / "notifications.jsonl", clock=w.clock).deliveries()
    counted = Counter((d.notification_key, d.channel, d.address) for d in deliveries)
    twice = [key for key, n in counted.items() if n > 1]
    return f"notice sent twice: {twice[0][0]}" if twice else None


def _payouts_released(w: World) -> str | None:
    """No payout at the rail without a complete approval chain and a release of its attempt;
    none while its disbursement is deferred; a release by the creditor's face check spent a
    grant that a match issued for this disbursement."""
    flow = wiring.disbursement_workflow()
    for payout in w.payouts.payouts.values():
        if payout.disbursement_id is None:
            return f"payout {payout.reference} names no disbursement"
        d = flow.get(payout.disbursement_id)
        if payout.key != d.rail_key:
            continue  # an earlier attempt's payout, judged when it was sent
        release = d.release
        chain_approved = flow.chain_approved(ChainKind.DISBURSEMENT, d.disbursement_id)
        if not chain_approved or release is None or release.attempt != d.attempt:
            return (
                f"payout {payout.reference} of {d.disbursement_id} was sent without a valid release"
            )
        if d.state == DisbursementState.DEFERRED:
            return f"payout {payout.reference} was sent while {d.disbursement_id} is deferred"
        if release.kind == ReleaseKind.FACE and not _matched(d.disbursement_id, release.grant_id):
            return (
                f"payout {payout.reference} was released by a face check that issued no "
                f"grant {release.grant_id} for {d.disbursement_id}, or the grant is not spent"
            )
    return None


def _matched(disbursement_id: str, grant_id: str | None) -> bool:
    store = wiring.face_store()
    if grant_id is None or store.grant_state(grant_id) != "used":
        return False
    return any(
        e.kind == "decision"
        and e.details.get("outcome") == "match"
        and e.details.get("grant_id") == grant_id
        for e in store.claim_events(disbursement_id)
    )


def _transfer_amount(transfer_id: str) -> int | None:
    try:
        return wiring.ledger_service().get_transfer(transfer_id).amount
    except TransferNotFound:
        return None


def _each_payment_posted_once(w: World) -> str | None:
    """Every payment the rail says succeeded is one ledger transfer of its amount, keyed by
    the rail's reference; the clearing account moved by exactly their sum."""
    from tests.simulation.money_back import fees_booked

    paid = [p for p in w.rail.payments.values() if p.status.value == "succeeded"]
    ids = {f"rail:{w.rail.name}:{p.reference}": p for p in paid}
    found = wiring.ledger_service().transfers(ids)
    for transfer_id, payment in ids.items():
        posted = found[transfer_id].amount if transfer_id in found else None
        if posted != payment.amount:
            return f"rail payment {payment.reference} of {payment.amount} fen posted as {posted}"
    fees = fees_booked(w)
    if isinstance(fees, str):
        return fees
    total = sum(p.amount for p in paid)
    clearing = system_posted(SystemAccount.PAYMENT_CLEARING.of())
    if clearing != fees - total:
        return (
            f"the clearing account moved {clearing} fen for {total} fen paid at the rail "
            f"and {fees} fen of its fees booked"
        )
    return None


def _each_payout_settled_once(w: World) -> str | None:
    """A payout the bank paid is posted once; one that failed posts nothing; one returned is
    reversed. Payouts in transit hold exactly what was paid out."""
    flow = wiring.disbursement_workflow()
    paid_out = 0
    for payout in w.payouts.payouts.values():
        d = flow.get(payout.disbursement_id or "")
        posted = _transfer_amount(f"payout:{payout.reference}:posted")
        returned = _transfer_amount(f"payout:{payout.reference}:returned")
        if payout.status == PayoutStatus.PAID:
            paid_out += payout.amount
            if posted != payout.amount or returned is not None:
                return f"payout {payout.reference} paid at the rail, posted {posted}"
            if payout.key == d.rail_key and d.state != DisbursementState.PAID:
                return f"payout {payout.reference} paid at the rail, disbursement {d.state}"
        elif payout.status == PayoutStatus.FAILED and posted is not None:
            return f"payout {payout.reference} failed at the rail but was posted"
        elif payout.status == PayoutStatus.RETURNED and posted is not None and returned != posted:
            return f"payout {payout.reference} returned but not reversed"
    in_transit = system_posted(SystemAccount.PAYOUTS_IN_TRANSIT.of())
    if in_transit != paid_out:
        return f"payouts in transit hold {in_transit} fen; the rail paid out {paid_out}"
    return None


def system_posted(account_id: str) -> int:
    """A system account's posted balance over it and its shards."""
    ledger = wiring.ledger_service()
    states = LedgerListing(ledger.store).account_states(prefix=account_id, limit=100).states
    return sum(s.totals.posted for s in states)
