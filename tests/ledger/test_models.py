"""The ledger's values without I/O: legs, requests, the balance guard, hashes and verify."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from chalicelib.ledger import (
    Account,
    AccountKind,
    BreakKind,
    InsufficientFunds,
    InvalidTransfer,
    Leg,
    Side,
    SystemAccount,
    TransferCode,
    TransferRequest,
)
from chalicelib.ledger.audit import verify_chain
from chalicelib.ledger.models import (
    GENESIS_HASH,
    MAX_LEGS,
    AccountState,
    Counters,
    Entry,
    TransferPhase,
)

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def request(**changes: object) -> TransferRequest:
    values: dict[str, object] = {
        "id": "pay-1",
        "debit": "SYS-CLEARING-CNY",
        "credit": "4406042600000011",
        "amount": 1000,
        "code": TransferCode.COLLECTION,
        "requested_by": "collection",
    }
    values.update(changes)
    return TransferRequest.between(**values)  # type: ignore[arg-type]


def leg(account: str, side: Side, amount: int) -> Leg:
    return Leg(account_id=account, side=side, amount=amount)


def test_system_account_ids_carry_the_currency() -> None:
    assert SystemAccount.PAYMENT_CLEARING == "SYS-CLEARING-CNY"
    assert SystemAccount.PAYMENT_CLEARING.of("CNY") == "SYS-CLEARING-CNY"
    assert SystemAccount.FEES_INCOME.of("HKD") == "SYS-FEES-HKD"
    assert len({system.of() for system in SystemAccount}) == len(SystemAccount)


def test_between_builds_two_balanced_legs() -> None:
    built = request()
    assert [(x.account_id, x.side, x.amount) for x in built.legs] == [
        ("SYS-CLEARING-CNY", Side.DEBIT, 1000),
        ("4406042600000011", Side.CREDIT, 1000),
    ]


@pytest.mark.parametrize("amount", [0, -5])
def test_zero_and_negative_amounts_are_refused(amount: int) -> None:
    with pytest.raises(InvalidTransfer):
        request(amount=amount)


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(InvalidTransfer):
        request(amount=10.0)


def test_unbalanced_legs_are_refused() -> None:
    with pytest.raises(ValidationError, match="must equal credits"):
        TransferRequest(
            id="x",
            legs=(leg("A", Side.DEBIT, 100), leg("B", Side.CREDIT, 99)),
            code=TransferCode.CORRECTION,
            requested_by="clerk-1",
        )


def test_a_single_leg_and_a_repeated_account_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least two legs"):
        TransferRequest(
            id="x", legs=(leg("A", Side.DEBIT, 1),), code=TransferCode.FEE, requested_by="f"
        )
    with pytest.raises(InvalidTransfer, match="only one leg"):
        request(debit="A", credit="A")


def test_too_many_legs_are_refused() -> None:
    legs = (
        leg("D", Side.DEBIT, MAX_LEGS),
        *tuple(leg(f"C{i}", Side.CREDIT, 1) for i in range(MAX_LEGS)),
    )
    with pytest.raises(ValidationError, match="at most"):
        TransferRequest(id="x", legs=legs, code=TransferCode.FEE, requested_by="f")


def test_only_a_pending_transfer_has_a_timeout() -> None:
    with pytest.raises(InvalidTransfer, match="timeout"):
        request(timeout_seconds=60)
    assert request(pending=True, timeout_seconds=60).timeout_seconds == 60


def test_a_reversal_names_what_it_reverses() -> None:
    with pytest.raises(InvalidTransfer, match="reversal"):
        request(code=TransferCode.REVERSAL)
    with pytest.raises(InvalidTransfer, match="reversal"):
        request(reverses="pay-0")


def test_transfer_ids_are_checked() -> None:
    with pytest.raises(InvalidTransfer):
        request(id="has space")
    with pytest.raises(InvalidTransfer):
        request(id="x" * 129)


def test_the_fingerprint_covers_the_whole_request() -> None:
    assert request().fingerprint() == request().fingerprint()
    assert request().fingerprint() != request(amount=1001).fingerprint()
    assert request().fingerprint() != request(metadata={"case": "x"}).fingerprint()
    assert request().fingerprint() != request(requested_by="someone else").fingerprint()


def state(no_overdraft: bool, totals: Counters) -> AccountState:
    account = Account(
        id="A",
        kind=AccountKind.CASE if no_overdraft else AccountKind.SYSTEM,
        currency="CNY",
        no_overdraft=no_overdraft,
        created_at=AT,
    )
    return AccountState(account=account, totals=totals)


def test_a_case_account_never_goes_below_zero_counting_pending_debits() -> None:
    held = state(True, Counters(credits_posted=1000, debits_pending=600))
    assert held.apply(Counters(debits_posted=400)).available == 0
    with pytest.raises(InsufficientFunds):
        held.apply(Counters(debits_posted=401))
    with pytest.raises(InsufficientFunds):
        held.apply(Counters(debits_pending=401))


def test_pending_credits_cannot_be_spent() -> None:
    held = state(True, Counters(credits_pending=1000))
    with pytest.raises(InsufficientFunds):
        held.apply(Counters(debits_posted=1))


def test_releasing_a_reservation_is_never_refused() -> None:
    held = state(True, Counters(credits_posted=1000, debits_pending=600))
    after = held.apply(Counters(debits_pending=-600, debits_posted=600))
    assert after.available == 400


def test_system_accounts_have_no_limit() -> None:
    assert state(False, Counters()).apply(Counters(debits_posted=5)).posted == -5


def entry(seq: int, prev_hash: str, delta: Counters, before: Counters) -> Entry:
    return Entry(
        account_id="A",
        seq=seq,
        transfer_id=f"t{seq}",
        phase=TransferPhase.POSTED,
        code=TransferCode.COLLECTION,
        at=AT,
        delta=delta,
        after=before + delta,
        prev_hash=prev_hash,
    ).sealed()


def chain(length: int) -> list[Entry]:
    entries: list[Entry] = []
    prev, totals = GENESIS_HASH, Counters()
    for seq in range(1, length + 1):
        made = entry(seq, prev, Counters(credits_posted=seq * 100), totals)
        entries.append(made)
        prev, totals = made.hash, made.after
    return entries


def stored(entries: list[Entry]) -> list[tuple[int, Entry]]:
    return [(e.seq, e) for e in entries]


def test_the_hash_covers_the_content_and_the_previous_hash() -> None:
    first = chain(1)[0]
    assert first.hash == first.computed_hash()
    assert first.model_copy(update={"transfer_id": "other"}).computed_hash() != first.hash
    assert first.model_copy(update={"prev_hash": "1" * 64}).computed_hash() != first.hash


def test_an_intact_chain_verifies() -> None:
    entries = chain(4)
    report = verify_chain("A", stored(entries), None)
    assert report.ok
    assert report.entries_checked == 4
    assert report.recomputed.credits_posted == 1000
    assert report.head_hash == entries[-1].hash


def test_verify_names_a_changed_entry() -> None:
    entries = chain(4)
    entries[2] = entries[2].model_copy(update={"delta": Counters(credits_posted=1)})
    report = verify_chain("A", stored(entries), None)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (3, BreakKind.CHANGED)


def test_verify_names_a_rehashed_entry_by_the_broken_link() -> None:
    entries = chain(4)
    entries[1] = entries[1].model_copy(update={"transfer_id": "forged"}).sealed()
    report = verify_chain("A", stored(entries), None)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.CHANGED)


def test_verify_names_a_missing_entry() -> None:
    entries = chain(4)
    del entries[1]
    report = verify_chain("A", stored(entries), None)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.MISSING)


def test_verify_names_swapped_entries() -> None:
    entries = chain(4)
    swapped = [(1, entries[0]), (2, entries[2]), (3, entries[1]), (4, entries[3])]
    report = verify_chain("A", swapped, None)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (2, BreakKind.REORDERED)
    assert "entry 3" in report.first_break.detail


def test_verify_checks_the_running_balance() -> None:
    bad = entry(1, GENESIS_HASH, Counters(credits_posted=5), Counters(credits_posted=1))
    report = verify_chain("A", [(1, bad)], None)
    assert report.first_break is not None
    assert report.first_break.kind == BreakKind.BALANCE


def test_verify_compares_the_stored_account_state() -> None:
    entries = chain(2)
    truth = state(True, entries[-1].after).model_copy(
        update={"seq": 2, "head_hash": entries[-1].hash}
    )
    assert verify_chain("A", stored(entries), truth).ok
    inflated = truth.model_copy(update={"totals": Counters(credits_posted=10**6)})
    report = verify_chain("A", stored(entries), inflated)
    assert report.first_break is not None
    assert report.first_break.kind == BreakKind.STATE
    lost_tail = truth.model_copy(update={"seq": 3})
    report = verify_chain("A", stored(entries), lost_tail)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (3, BreakKind.MISSING)
