"""The ledger on moto: accounts, postings, idempotency, two-phase transfers, reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.ledger import (
    AccountConflict,
    AccountNotFound,
    AlreadyReversed,
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAccount,
    InvalidQuery,
    InvalidTransfer,
    LedgerService,
    Leg,
    PendingExpired,
    PendingNotActive,
    PendingState,
    Side,
    TransferCode,
    TransferNotFound,
    TransferRequest,
)
from chalicelib.ledger import cache as cache_module
from chalicelib.ledger.items import STATE_SK, account_pk, state_item_values
from chalicelib.ledger.models import Account, AccountKind, AccountState
from tests.ledger.conftest import (
    CASE_A,
    CASE_B,
    CASH,
    CLEARING,
    FEES,
    PAYOUTS,
    UNIDENTIFIED,
    collect,
    disburse,
    new_ledger,
)


def test_opening_a_case_account_twice_returns_the_same_account(ledger: LedgerService) -> None:
    again = ledger.open_case_account(CASE_A, case_id="case-a")
    assert again.case_id == "case-a"
    assert again.no_overdraft


def test_an_account_number_of_another_case_is_refused(ledger: LedgerService) -> None:
    with pytest.raises(AccountConflict):
        ledger.open_case_account(CASE_A, case_id="case-z")


def test_a_case_account_number_has_sixteen_digits(ledger: LedgerService) -> None:
    with pytest.raises(InvalidAccount):
        ledger.open_case_account("12345", case_id="case-z")


def test_system_accounts_are_opened_once(ledger: LedgerService, aws: Any, clock: Any) -> None:
    other = new_ledger(aws, clock)
    other.ensure_system_accounts()
    assert other.balance(CLEARING).seq == 0


def test_a_collection_credits_the_case_and_debits_clearing(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 12_345, "pay-1")
    case = ledger.balance(CASE_A)
    assert (case.credits_posted, case.posted, case.available, case.seq) == (
        12_345,
        12_345,
        12_345,
        1,
    )
    assert ledger.balance(CLEARING).posted == -12_345


def test_a_replay_returns_the_original_and_posts_nothing(ledger: LedgerService) -> None:
    first = collect(ledger, CASE_A, 500, "pay-1")
    other_lambda = new_ledger(ledger.store.client, FixedClock(first.created_at))
    again = collect(other_lambda, CASE_A, 500, "pay-1")
    assert again == first
    assert ledger.balance(CASE_A).posted == 500
    assert ledger.balance(CASE_A).seq == 1


def test_a_replay_with_other_content_is_a_conflict(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 500, "pay-1")
    with pytest.raises(IdempotencyConflict, match="already used for a different request") as err:
        collect(ledger, CASE_A, 501, "pay-1")
    assert err.value.status == 409
    assert ledger.balance(CASE_A).posted == 500


def test_a_replay_still_answers_after_the_money_is_spent(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 500, "pay-1")
    first = disburse(ledger, CASE_A, 500, "out-1")
    assert disburse(ledger, CASE_A, 500, "out-1") == first
    assert ledger.balance(CASE_A).posted == 0


def test_a_case_account_cannot_be_overdrawn(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    with pytest.raises(InsufficientFunds) as err:
        disburse(ledger, CASE_A, 1001, "out-1")
    assert err.value.status == 409
    assert ledger.balance(CASE_A).posted == 1000


def test_an_unknown_account_is_not_found(ledger: LedgerService) -> None:
    with pytest.raises(AccountNotFound):
        collect(ledger, "4406042600009999", 1, "pay-1")
    with pytest.raises(AccountNotFound):
        ledger.balance("4406042600009999")


def test_an_account_of_another_currency_is_refused(
    ledger: LedgerService, clock: FixedClock
) -> None:
    hkd = Account(
        id="SYS-FX-HKD",
        kind=AccountKind.SYSTEM,
        currency="HKD",
        no_overdraft=False,
        created_at=clock.now(),
    )
    ledger.store.put_new(account_pk(hkd.id), STATE_SK, state_item_values(AccountState(account=hkd)))
    with pytest.raises(CurrencyMismatch):
        ledger.transfer(
            TransferRequest.between(
                id="fx-1",
                debit=hkd.id,
                credit=CASE_A,
                amount=1,
                code=TransferCode.CORRECTION,
                requested_by="finance-1",
            )
        )


def test_a_multi_leg_transfer_splits_a_payout_and_a_fee(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 10_000, "pay-1")
    ledger.transfer(
        TransferRequest(
            id="out-1",
            legs=(
                Leg(account_id=CASE_A, side=Side.DEBIT, amount=10_000),
                Leg(account_id=PAYOUTS, side=Side.CREDIT, amount=9_500),
                Leg(account_id=FEES, side=Side.CREDIT, amount=500),
            ),
            code=TransferCode.DISBURSEMENT,
            requested_by="finance-1",
        )
    )
    assert ledger.balance(CASE_A).posted == 0
    assert ledger.balance(PAYOUTS).posted == 9_500
    assert ledger.balance(FEES).posted == 500
    assert all(ledger.verify(account).ok for account in (CASE_A, PAYOUTS, FEES))


def test_a_pending_debit_reserves_money(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    held = disburse(ledger, CASE_A, 700, "out-1", pending=True)
    assert held.state == PendingState.PENDING
    balance = ledger.balance(CASE_A)
    assert (balance.posted, balance.debits_pending, balance.available) == (1000, 700, 300)
    with pytest.raises(InsufficientFunds):
        disburse(ledger, CASE_A, 301, "out-2")


def test_posting_a_pending_transfer_in_full(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 700, "out-1", pending=True)
    posted = ledger.post_pending("out-1", id="out-1-post", requested_by="finance-2")
    assert posted.pending_id == "out-1"
    assert posted.amount == 700
    balance = ledger.balance(CASE_A)
    assert (balance.posted, balance.debits_pending, balance.available) == (300, 0, 300)
    assert ledger.balance(PAYOUTS).credits_pending == 0
    assert ledger.get_transfer("out-1").state == PendingState.POSTED
    assert ledger.get_transfer("out-1").resolved_by == "out-1-post"


def test_posting_part_releases_the_rest(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 700, "out-1", pending=True)
    ledger.post_pending("out-1", id="out-1-post", amount=200, requested_by="finance-2")
    balance = ledger.balance(CASE_A)
    assert (balance.posted, balance.debits_pending, balance.available) == (800, 0, 800)
    assert ledger.verify(CASE_A).ok
    assert ledger.verify(PAYOUTS).ok


def test_a_pending_transfer_cannot_post_more_than_it_reserved(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 700, "out-1", pending=True)
    with pytest.raises(InvalidTransfer):
        ledger.post_pending("out-1", id="out-1-post", amount=701, requested_by="finance-2")


def test_a_pending_transfer_resolves_once(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 700, "out-1", pending=True)
    voided = ledger.void_pending("out-1", id="out-1-void", requested_by="finance-2")
    assert ledger.void_pending("out-1", id="out-1-void", requested_by="finance-2") == voided
    with pytest.raises(PendingNotActive, match="voided"):
        ledger.post_pending("out-1", id="out-1-post", requested_by="finance-2")
    with pytest.raises(IdempotencyConflict):
        ledger.void_pending("out-1", id="out-1-void", requested_by="someone-else")
    assert ledger.balance(CASE_A).available == 1000


def test_a_replayed_pending_transfer_gets_its_first_answer_after_resolution(
    ledger: LedgerService,
) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    held = disburse(ledger, CASE_A, 700, "out-1", pending=True)
    ledger.void_pending("out-1", id="out-1-void", requested_by="finance-2")
    assert disburse(ledger, CASE_A, 700, "out-1", pending=True) == held
    assert ledger.get_transfer("out-1").state == PendingState.VOIDED
    assert ledger.balance(CASE_A).available == 1000


def test_a_stale_resolver_meets_the_conditional_pending_record(
    ledger: LedgerService, aws: Any, clock: FixedClock
) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 700, "out-1", pending=True)
    late = new_ledger(aws, clock)
    late.balance(CASE_A)
    late.balance(PAYOUTS)
    ledger.void_pending("out-1", id="out-1-void", requested_by="finance-2")
    with pytest.raises(PendingNotActive):
        late.post_pending("out-1", id="out-1-post", requested_by="finance-3")
    assert late.balance(CASE_A).available == 1000


def test_only_pending_transfers_are_posted(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    with pytest.raises(InvalidTransfer, match="not a pending"):
        ledger.post_pending("pay-1", id="x", requested_by="finance-2")
    with pytest.raises(TransferNotFound):
        ledger.post_pending("nope", id="x", requested_by="finance-2")


def test_an_expired_pending_transfer_cannot_be_posted(
    ledger: LedgerService, clock: FixedClock
) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 700, "out-1", pending=True, timeout_seconds=60)
    clock.advance(timedelta(seconds=60))
    with pytest.raises(PendingExpired, match="expired at 2026-11-02T09:01:00"):
        ledger.post_pending("out-1", id="out-1-post", requested_by="finance-2")


def test_the_sweeper_expires_each_pending_transfer_exactly_once(
    ledger: LedgerService, aws: Any, clock: FixedClock
) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 300, "out-1", pending=True, timeout_seconds=60)
    disburse(ledger, CASE_A, 300, "out-2", pending=True, timeout_seconds=600)
    disburse(ledger, CASE_A, 300, "out-3", pending=True)
    assert ledger.expire_pending() == 0
    clock.advance(timedelta(seconds=61))
    assert ledger.expire_pending() == 1
    assert new_ledger(aws, clock).expire_pending() == 0
    assert ledger.get_transfer("out-1").state == PendingState.EXPIRED
    assert ledger.balance(CASE_A).available == 400
    with pytest.raises(PendingExpired):
        ledger.post_pending("out-1", id="out-1-post", requested_by="finance-2")
    clock.advance(timedelta(hours=1))
    assert ledger.expire_pending() == 1
    assert ledger.balance(CASE_A).available == 700
    assert ledger.verify(CASE_A).ok
    assert ledger.verify(PAYOUTS).ok


def test_a_reversal_mirrors_the_original_once(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    reversal = ledger.reverse("pay-1", id="rev-1", requested_by="finance-1", reason="duplicate")
    assert reversal.reverses == "pay-1"
    assert ledger.balance(CASE_A).posted == 0
    assert ledger.balance(CLEARING).posted == 0
    assert ledger.reverse("pay-1", id="rev-1", requested_by="finance-1", reason="duplicate") == (
        reversal
    )
    collect(ledger, CASE_A, 1000, "pay-2")
    with pytest.raises(AlreadyReversed, match="rev-1"):
        ledger.reverse("pay-1", id="rev-2", requested_by="finance-1", reason="again")
    assert ledger.balance(CASE_A).posted == 1000
    assert ledger.verify(CASE_A).ok


def test_a_reversal_must_mirror_the_original(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    with pytest.raises(InvalidTransfer, match="mirrors"):
        ledger.transfer(
            TransferRequest.between(
                id="rev-1",
                debit=CASE_A,
                credit=CLEARING,
                amount=999,
                code=TransferCode.REVERSAL,
                requested_by="finance-1",
                reverses="pay-1",
            )
        )
    disburse(ledger, CASE_A, 10, "out-1", pending=True)
    with pytest.raises(InvalidTransfer, match="pending"):
        ledger.reverse("out-1", id="rev-2", requested_by="finance-1", reason="no")


def test_a_stale_cache_is_refreshed_before_refusing_or_posting(
    ledger: LedgerService, aws: Any, clock: FixedClock
) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    other = new_ledger(aws, clock)
    collect(other, CASE_A, 500, "pay-2")
    disburse(ledger, CASE_A, 1500, "out-1")  # the cached state says 1000; the truth is 1500
    with pytest.raises(InsufficientFunds):
        disburse(other, CASE_A, 1, "out-2")
    assert ledger.balance(CASE_A).posted == 0
    assert ledger.verify(CASE_A).ok


def test_balance_at_a_moment(ledger: LedgerService, clock: FixedClock) -> None:
    start = clock.now()
    collect(ledger, CASE_A, 1000, "pay-1")
    clock.advance(timedelta(hours=1))
    collect(ledger, CASE_A, 500, "pay-2")
    assert ledger.balance_at(CASE_A, start - timedelta(seconds=1)).posted == 0
    assert ledger.balance_at(CASE_A, start).posted == 1000
    assert ledger.balance_at(CASE_A, start + timedelta(minutes=59)).posted == 1000
    assert ledger.balance_at(CASE_A, clock.now()).posted == 1500


def test_a_statement_pages_by_date_with_running_balances(
    ledger: LedgerService, clock: FixedClock
) -> None:
    start = clock.now()
    for n in range(5):
        collect(ledger, CASE_A, 100, f"pay-{n}")
        clock.advance(timedelta(days=1))
    disburse(ledger, CASE_A, 250, "out-1", pending=True)
    first = ledger.statement(CASE_A, start=start, end=clock.now() + timedelta(days=1), limit=4)
    assert [line.balance for line in first.lines] == [100, 200, 300, 400]
    assert first.next_cursor
    rest = ledger.statement(
        CASE_A, start=start, end=clock.now() + timedelta(days=1), limit=4, cursor=first.next_cursor
    )
    assert [(line.balance, line.available) for line in rest.lines] == [(500, 500), (500, 250)]
    assert rest.lines[-1].pending_debit == 250
    window = ledger.statement(
        CASE_A, start=start + timedelta(days=1), end=start + timedelta(days=3), limit=10
    )
    assert [line.transfer_id for line in window.lines] == ["pay-1", "pay-2"]
    assert window.next_cursor is None


def test_a_statement_refuses_a_backwards_window(ledger: LedgerService, clock: FixedClock) -> None:
    with pytest.raises(InvalidQuery):
        ledger.statement(CASE_A, start=clock.now(), end=clock.now())
    with pytest.raises(InvalidQuery, match="cursor"):
        ledger.statement(
            CASE_A, start=clock.now(), end=clock.now() + timedelta(days=1), cursor="%%%"
        )


def test_entry_times_never_go_backwards_within_an_account(
    ledger: LedgerService, clock: FixedClock
) -> None:
    collect(ledger, CASE_A, 100, "pay-1")
    clock.advance(timedelta(seconds=-30))  # another Lambda's clock runs behind
    collect(ledger, CASE_B, 100, "pay-2")
    collect(ledger, CASE_A, 100, "pay-3")
    stored = [entry for _, entry in ledger.store.entries(CASE_A)]
    assert stored[1].at >= stored[0].at
    assert ledger.verify(CASE_A).ok


def test_no_ledger_operation_scans_the_table(
    ledger: LedgerService, aws: Any, clock: FixedClock
) -> None:
    operations: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        operations.add(model.name)

    aws.meta.events.register("before-call.dynamodb", record)
    collect(ledger, CASE_A, 1000, "pay-1")
    disburse(ledger, CASE_A, 300, "out-1", pending=True, timeout_seconds=60)
    ledger.post_pending("out-1", id="out-1-post", amount=200, requested_by="finance-2")
    disburse(ledger, CASE_A, 100, "out-2", pending=True, timeout_seconds=60)
    clock.advance(timedelta(minutes=2))
    ledger.expire_pending()
    ledger.statement(CASE_A, start=clock.now() - timedelta(days=1), end=clock.now())
    ledger.balance_at(CASE_A, clock.now())
    ledger.verify(CASE_A)
    aws.meta.events.unregister("before-call.dynamodb", record)
    assert "Scan" not in operations
    assert {"TransactWriteItems", "Query"} <= operations


def test_the_account_cache_is_bounded(
    ledger: LedgerService, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "MAX_CACHED_ACCOUNTS", 2)
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    collect(ledger, CASE_B, 100, "pay-0")
    aws.meta.events.register("before-call.dynamodb", record)
    collect(ledger, CASE_A, 100, "pay-1")  # case A fell out of the cache: one read
    collect(ledger, CASE_A, 100, "pay-2")  # both accounts cached again: no read
    aws.meta.events.unregister("before-call.dynamodb", record)
    assert calls == ["BatchGetItem", "TransactWriteItems", "TransactWriteItems"]


def test_a_second_reversal_is_refused_as_such_even_when_funds_are_short(
    ledger: LedgerService,
) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    ledger.reverse("pay-1", id="rev-1", requested_by="finance-1", reason="duplicate")
    with pytest.raises(AlreadyReversed, match="rev-1"):
        ledger.reverse("pay-1", id="rev-2", requested_by="finance-1", reason="again")


def test_a_reversal_id_reused_for_another_request_is_a_conflict(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    collect(ledger, CASE_A, 500, "pay-2")
    ledger.reverse("pay-1", id="rev-1", requested_by="finance-1", reason="duplicate")
    with pytest.raises(IdempotencyConflict):
        ledger.reverse("pay-2", id="rev-1", requested_by="finance-1", reason="duplicate")


def test_a_reused_id_is_a_conflict_before_any_other_refusal(ledger: LedgerService) -> None:
    collect(ledger, CASE_A, 1000, "pay-1")
    with pytest.raises(IdempotencyConflict):
        collect(ledger, "4406042600009999", 1000, "pay-1")
    with pytest.raises(AccountNotFound):
        collect(ledger, "4406042600009999", 1000, "pay-2")


def test_a_claim_moves_unidentified_money_to_a_case_with_who_and_why(
    ledger: LedgerService,
) -> None:
    suspense(ledger, 800, "unknown-1")
    claimed = ledger.claim_unidentified(
        id="claim-1",
        account_id=CASE_B,
        amount=800,
        claimed_by="clerk-1",
        confirmed_by="finance-1",
        reason="付款人电话确认",
        payment_ref="pi_1",
    )
    assert claimed.code == TransferCode.UNIDENTIFIED_CLAIM
    assert claimed.requested_by == "clerk-1"
    assert claimed.metadata == {
        "reason": "付款人电话确认",
        "payment_ref": "pi_1",
        "confirmed_by": "finance-1",
    }
    assert ledger.balance(CASE_B).posted == 800
    assert ledger.balance(UNIDENTIFIED).posted == 0


def test_a_claim_cannot_take_more_than_arrived(ledger: LedgerService) -> None:
    suspense(ledger, 800, "unknown-1")
    with pytest.raises(InsufficientFunds):
        ledger.claim_unidentified(
            id="claim-1",
            account_id=CASE_B,
            amount=801,
            claimed_by="clerk-1",
            confirmed_by="finance-1",
            reason="确认",
        )
    assert ledger.balance(CASE_B).posted == 0
    assert ledger.balance(UNIDENTIFIED).posted == 800


def test_a_claim_goes_to_a_case_account_only(ledger: LedgerService) -> None:
    suspense(ledger, 800, "unknown-1")
    with pytest.raises(InvalidAccount):
        ledger.claim_unidentified(
            id="claim-1",
            account_id=FEES,
            amount=800,
            claimed_by="clerk-1",
            confirmed_by="finance-1",
            reason="确认",
        )


def test_counter_cash_is_entered_once_under_the_clerks_id(
    ledger: LedgerService, clock: FixedClock
) -> None:
    entry = {
        "id": "cash-1",
        "account_id": CASE_A,
        "amount": 5000,
        "receipt_no": "GD-2026-000123",
        "received_at": clock.now() - timedelta(minutes=30),
        "entered_by": "clerk-1",
        "confirmed_by": "finance-1",
    }
    entered = ledger.enter_counter_cash(**entry)
    assert entered.code == TransferCode.CASH_BACK_ENTRY
    assert entered.metadata == {
        "receipt_no": "GD-2026-000123",
        "received_at": "2026-11-02T08:30:00.000000Z",
        "confirmed_by": "finance-1",
    }
    assert ledger.enter_counter_cash(**entry) == entered
    with pytest.raises(IdempotencyConflict):
        ledger.enter_counter_cash(**{**entry, "amount": 1})
    assert ledger.balance(CASE_A).posted == 5000
    assert ledger.balance(CASH).posted == -5000


def test_counter_cash_cannot_have_been_taken_in_the_future(
    ledger: LedgerService, clock: FixedClock
) -> None:
    with pytest.raises(InvalidTransfer, match="future"):
        ledger.enter_counter_cash(
            id="cash-1",
            account_id=CASE_A,
            amount=5000,
            receipt_no="GD-2026-000123",
            received_at=clock.now() + timedelta(minutes=10),
            entered_by="clerk-1",
            confirmed_by="finance-1",
        )
    assert ledger.balance(CASE_A).posted == 0


def test_counter_cash_goes_to_a_case_account_only(ledger: LedgerService, clock: FixedClock) -> None:
    with pytest.raises(InvalidAccount):
        ledger.enter_counter_cash(
            id="cash-1",
            account_id=FEES,
            amount=5000,
            receipt_no="GD-2026-000123",
            received_at=clock.now(),
            entered_by="clerk-1",
            confirmed_by="finance-1",
        )


def suspense(ledger: LedgerService, amount: int, transfer_id: str) -> None:
    """Money from the rail without a recognisable case, held as unidentified funds."""
    ledger.transfer(
        TransferRequest.between(
            id=transfer_id,
            debit=CLEARING,
            credit=UNIDENTIFIED,
            amount=amount,
            code=TransferCode.UNIDENTIFIED_RECEIPT,
            requested_by="collection",
        )
    )
