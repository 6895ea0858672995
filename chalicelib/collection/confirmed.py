"""Money two people decided moves into a case: a claim of unidentified money (认领) and cash
taken at the counter (现场交款补录), each posted through the ledger once, under an id the
decision fixes, and counted toward the case once.

The decisions themselves (who proposed, who confirmed, by token subject) are taken in
``claims`` and ``counter_cash``; this module acts on a confirmed decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.cases import CaseStatus
from chalicelib.cases.identifiers import normalise_account_number
from chalicelib.clock import Clock
from chalicelib.collection.arrivals import Arrival
from chalicelib.collection.counting import Counting, Credit
from chalicelib.collection.errors import (
    AmountRefused,
    CaseNotPayable,
    ClaimAlreadySettled,
    ClaimNotFound,
    CollectionBusy,
)
from chalicelib.collection.models import (
    CaseStanding,
    CashEntry,
    ClaimStatus,
    CounterCash,
    UnidentifiedPayment,
)
from chalicelib.collection.paying import snapshot
from chalicelib.collection.store import CollectionStore, Contended, PostedBefore
from chalicelib.ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    Side,
    Transfer,
    TransferCode,
    TransferNotFound,
    TransferRequest,
    postings,
)
from chalicelib.retry import Backoff

CLAIM_ATTEMPTS = 8

if TYPE_CHECKING:
    from chalicelib.cases import Case, CaseService
    from chalicelib.ledger import LedgerService


class ConfirmedMoney:
    """Posts and counts confirmed claims and counter cash; safe to share."""

    def __init__(
        self,
        store: CollectionStore,
        clock: Clock,
        *,
        cases: CaseService,
        ledger: LedgerService,
        counting: Counting,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cases = cases
        self._ledger = ledger
        self._counting = counting
        self._backoff = Backoff(base=0.005, cap=0.1)

    def claim(
        self,
        reference: str,
        *,
        account_number: str,
        reason: str,
        actor: str,
        confirmed_by: str,
        confirmer_subject: str,
    ) -> UnidentifiedPayment:
        """Claim unidentified money to a case, as proposed by ``actor`` and confirmed by a
        second person, through the ledger's one claim mechanism; mark the queue item with who,
        why and when. The money counts toward the case. The same confirmation sent again,
        also while the first is in flight, gets the first answer."""
        item = self._store.unidentified(reference)
        if item is None:
            raise ClaimNotFound(f"there is no unidentified payment {reference}")
        if item.status == ClaimStatus.REFUNDED:
            raise ClaimAlreadySettled(
                f"this payment is being refunded to its payer ({item.refund_id})"
            )
        if item.status != ClaimStatus.OPEN:
            if item.confirmer_subject == confirmer_subject and _names_account(
                account_number, item.claimed_account_number or ""
            ):
                return item
            raise ClaimAlreadySettled(
                f"this payment was already claimed to case account {item.claimed_account_number}"
            )
        transfer_id = f"claim:{item.rail}:{reference}"
        transfer = self._earlier_claim(transfer_id)
        if transfer is None:
            case = self._cases.find_by_account_number(account_number)
            if case.status == CaseStatus.CONCLUDED:
                raise CaseNotPayable(
                    f"case {case.case_number} is concluded and takes no money",
                    case_status=case.status.value,
                )
            if case.currency != item.currency:
                raise AmountRefused(
                    f"the case keeps {case.currency}; this money is {item.currency}"
                )
            transfer = self._post_claim(
                item,
                postings.unidentified_claim(
                    id=transfer_id,
                    account=case.account_number,
                    amount=item.amount,
                    currency=item.currency,
                    claimed_by=actor,
                    confirmed_by=confirmed_by,
                    reason=reason,
                    payment_ref=reference,
                ),
            )
        # The ledger transfer is the durable record: whoever finishes a claim (a twin request,
        # a retry after a crash) records it as it was made.
        credited = next(leg for leg in transfer.legs if leg.side == Side.CREDIT)
        case = self._cases.find_by_account_number(credited.account_id)
        claimed = item.model_copy(
            update={
                "status": ClaimStatus.CLAIMED,
                "claimed_to_case": case.case_id,
                "claimed_account_number": case.account_number,
                "claimed_by": transfer.requested_by,
                "claim_reason": transfer.metadata.get("reason", reason),
                "claimed_at": self._clock.now(),
                "claim_transfer_id": transfer.id,
                "confirmed_by": transfer.metadata.get("confirmed_by", confirmed_by),
                "confirmer_subject": confirmer_subject,
            }
        )
        claimed = self._record_claim(claimed, case)
        if not _names_account(account_number, case.account_number):
            raise ClaimAlreadySettled(
                f"this payment was already claimed to case account {claimed.claimed_account_number}"
            )
        return claimed

    def _post_claim(self, item: UnidentifiedPayment, request: TransferRequest) -> Transfer:
        """Post the claim only while the payment is still open, in one transaction with that
        check: a refund approved in the same instant takes it out of the queue first, or finds
        it claimed (``refunds``). A twin that posted first hands back its transfer."""
        for attempt in range(CLAIM_ATTEMPTS):
            try:
                posting = self._ledger.plan_transfer(request)
            except InsufficientFunds:
                # planned on the pool as it is now: a twin (or a refund) took the money first
                earlier = self._settled_meanwhile(item.reference, request.id)
                if earlier is None:
                    raise
                return earlier
            try:
                if self._store.post_claim(item.reference, posting):
                    return posting.transfer
            except PostedBefore:
                return self._ledger.get_transfer(request.id)  # a twin got there first
            except Contended:
                if self._backoff.pause(attempt):
                    continue
                break
            earlier = self._settled_meanwhile(item.reference, request.id)
            if earlier is None:
                raise ClaimAlreadySettled("this payment was claimed meanwhile; reload it")
            return earlier
        raise CollectionBusy("the accounts of this claim are busy; confirm it again")

    def _settled_meanwhile(self, reference: str, transfer_id: str) -> Transfer | None:
        """Why a claim could not post: its twin's transfer if a twin posted it; refused if a
        refund took the payment out of the queue; None if neither."""
        earlier = self._earlier_claim(transfer_id)
        if earlier is not None:
            return earlier
        now = self._store.unidentified(reference)
        if now is not None and now.status == ClaimStatus.REFUNDED:
            raise ClaimAlreadySettled(
                f"this payment is being refunded to its payer ({now.refund_id})"
            )
        return None

    def _earlier_claim(self, transfer_id: str) -> Transfer | None:
        try:
            return self._ledger.get_transfer(transfer_id)
        except TransferNotFound:
            return None

    def _record_claim(self, claimed: UnidentifiedPayment, case: Case) -> UnidentifiedPayment:
        """Mark the queue item claimed and count the money toward the case, in one
        transaction."""

        def commit(before: CaseStanding, credit: Credit) -> bool:
            return self._store.commit_claim(
                claimed,
                before=before,
                standing=credit.standing,
                surplus=credit.surplus,
                notice=credit.notice,
                clock=credit.clock,
            )

        arrival = Arrival(
            snapshot(case),
            claimed.claim_transfer_id or claimed.reference,
            claimed.amount,
            claimed.claimed_at or self._clock.now(),
            claimed_reference=claimed.reference,
        )
        counted = self._counting.count_toward_case(
            arrival,
            claimed.reference,
            read=lambda: self._store.standing(case.case_id),
            standing_of=lambda before: before,
            commit=commit,
        )
        return claimed if counted else self._store.unidentified(claimed.reference) or claimed

    def count_counter_cash(self, cash: CashEntry, *, confirmed_by: str) -> CounterCash:
        """现场交款补录, once confirmed by a second person: the cash is posted to the case
        account and counts toward the case, as a payment made online does, so the pay page
        does not ask the debtor for it again.

        The ledger posts the entry's id once (a replay, or another confirmer finishing a
        confirmation cut short, gets the original transfer). The count is recorded under that
        transfer's id in the same transaction as the standing, so a retry after a crash
        between the two counts it, and any later retry does not."""
        case = self._cases.get(cash.case_id)
        if case.status == CaseStatus.CONCLUDED:
            raise CaseNotPayable(
                f"case {case.case_number} is concluded and takes no money",
                case_status=case.status.value,
            )
        self._ledger.ensure_system_accounts(case.currency)
        try:
            transfer = self._ledger.enter_counter_cash(
                id=cash.id,
                account_id=case.account_number,
                amount=cash.amount,
                receipt_no=cash.receipt_no,
                received_at=cash.received_at,
                entered_by=cash.entered_by,
                confirmed_by=confirmed_by,
                currency=case.currency,
            )
        except IdempotencyConflict:
            transfer = self._ledger.get_transfer(cash.id)
            if transfer.code != TransferCode.CASH_BACK_ENTRY or transfer.amount != cash.amount:
                raise
        entry = CounterCash(
            transfer_id=transfer.id,
            case_id=case.case_id,
            account_number=case.account_number,
            amount=transfer.amount,
            currency=transfer.currency,
            receipt_no=cash.receipt_no,
            received_at=cash.received_at,
            entered_by=transfer.requested_by,
            confirmed_by=transfer.metadata.get("confirmed_by", confirmed_by),
            counted_at=self._clock.now(),
        )

        def commit(before: CaseStanding, credit: Credit) -> bool:
            return self._store.commit_counter_cash(
                entry,
                before=before,
                standing=credit.standing,
                surplus=credit.surplus,
                notice=credit.notice,
                clock=credit.clock,
            )

        # the cash reached the court when the counter took it, not when it was entered
        arrival = Arrival(snapshot(case), entry.transfer_id, entry.amount, cash.received_at)
        counted = self._counting.count_toward_case(
            arrival,
            entry.transfer_id,
            read=lambda: self._store.standing(case.case_id),
            standing_of=lambda before: before,
            commit=commit,
        )
        return entry if counted else self._store.counter_cash(entry.transfer_id) or entry


def _names_account(typed: str, account_number: str) -> bool:
    try:
        return normalise_account_number(typed) == account_number
    except ValueError:
        return False
