"""Collection's payments and their settlement in the collection table.

The payments, the case standing and their settlement: the one place that knows the conditions
the settlement's transaction relies on (the standing's version, the gapless receipt counter, the
event recorded once). The table's layout and keys are in ``table``; the queues it writes beside
a settlement (notices, unidentified funds, surplus drafts) in ``queues``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from chalicelib import dynamo
from chalicelib.clock import isoformat
from chalicelib.collection.errors import CollectionBusy
from chalicelib.collection.models import (
    CaseStanding,
    ClaimStatus,
    CounterCash,
    Notice,
    Payment,
    PaymentStatus,
    SurplusDraft,
    UnidentifiedPayment,
)
from chalicelib.collection.queues import CollectionQueues
from chalicelib.collection.table import (
    counter_cash_key,
    event_key,
    payment_key,
    receipt_key,
    standing_key,
    unidentified_key,
)
from chalicelib.dynamo import from_item, to_item

if TYPE_CHECKING:
    from chalicelib.ledger import PlannedPosting

M = TypeVar("M", bound=BaseModel)
CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"
# the whole call refused because another transaction held an item: a race, to read again
RETRYABLE_ERRORS = frozenset({"TransactionConflictException", "TransactionInProgressException"})


class Contended(Exception):
    """Another writer changed a guarded item between our read and our write; read and retry."""


class EventRecorded(Contended):
    """The webhook event a settlement would record was recorded otherwise (kept as malformed):
    nothing of this transaction was written; settle again without the event's record."""


class PostedBefore(Exception):
    """The ledger transfer a settlement would post exists already (posted to the case by an
    earlier settlement that stopped before its record, or to unidentified funds): nothing of
    this transaction was written."""


@dataclass(frozen=True)
class SettlementState:
    """The guarded items a settlement reads before it writes."""

    standing: CaseStanding
    receipt_seq: int


@dataclass(frozen=True)
class WebhookRead:
    """What a webhook reads in one call (``CollectionStore.webhook_read``)."""

    event_state: str | None  # None: never recorded
    payment: tuple[Payment, str] | None
    settlement: SettlementState | None  # of the case and year asked for, if any
    year: int | None
    other: dict[str, Any] | None  # the other table's item, as DynamoDB sent it; None if absent


def _settlement_state(
    items: dict[str, dict[str, Any]], case_id: str, court_code: str, year: int
) -> SettlementState:
    standing_item = items.get(f"CASE#{case_id}")
    receipt_item = items.get(f"RECEIPTNO#{court_code}#{year}")
    return SettlementState(
        standing=(
            CaseStanding.model_validate_json(standing_item["doc"])
            if standing_item
            else CaseStanding(case_id=case_id)
        ),
        receipt_seq=int(receipt_item["next"]) if receipt_item else 0,
    )


class CollectionStore(CollectionQueues):
    """DynamoDB access for collection; every write that can race is conditional."""

    # -- payments ----------------------------------------------------------------------------

    def payment(self, payment_id: str) -> tuple[Payment, str] | None:
        """The payment and the digest of the request that created it."""
        item = self._get(payment_key(payment_id))
        if item is None:
            return None
        return Payment.model_validate_json(item["doc"]), item["request_digest"]

    def add_payment(self, payment: Payment, *, request_digest: str) -> bool:
        """Record a new payment; False if the id exists (a replayed request)."""
        item = self._payment_item(payment) | {"request_digest": request_digest}
        return self._put(
            item, "attribute_not_exists(pk) OR #state = :received", {":received": "received"}
        )

    def save_payment(self, payment: Payment, *, from_statuses: Iterable[PaymentStatus]) -> bool:
        """Move a payment on, only from one of ``from_statuses``; False if it had moved, or
        if a settlement transaction holds it right now (the caller reads it again)."""
        allowed = {f":from{i}": s.value for i, s in enumerate(from_statuses)}
        update = self._payment_update(payment, f"#status IN ({', '.join(allowed)})", allowed)
        try:
            self._db.update_item(**update["Update"])
        except (
            self._db.exceptions.ConditionalCheckFailedException,
            self._db.exceptions.TransactionConflictException,
        ):
            return False
        return True

    def payments_of_case(self, case_id: str, *, limit: int = 100) -> list[Payment]:
        page = self._db.query(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"CASEPAY#{case_id}"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [Payment.model_validate_json(from_item(i)["doc"]) for i in page["Items"]]

    def _payment_item(self, payment: Payment) -> dict[str, Any]:
        return payment_key(payment.payment_id) | {
            "status": payment.status.value,
            "doc": payment.model_dump_json(),
            "gsi1pk": f"CASEPAY#{payment.case.case_id}",
            "gsi1sk": f"{isoformat(payment.created_at)}#{payment.payment_id}",
        }

    def _payment_update(
        self, payment: Payment, condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        """Replace a payment's document and status, keeping its creation digest and index."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item(payment_key(payment.payment_id)),
                "UpdateExpression": "SET #status = :status, doc = :doc",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(
                    {":status": payment.status.value, ":doc": payment.model_dump_json(), **values}
                ),
            }
        }

    # -- standing and settlement -------------------------------------------------------------

    def standing(self, case_id: str) -> CaseStanding:
        item = self._get(standing_key(case_id))
        if item is None:
            return CaseStanding(case_id=case_id)
        return CaseStanding.model_validate_json(item["doc"])

    def settlement_state(self, case_id: str, court_code: str, year: int) -> SettlementState:
        """The case's standing and the court's receipt counter, read together and consistently."""
        keys = [to_item(standing_key(case_id)), to_item(receipt_key(court_code, year))]
        try:
            read = dynamo.batch_get(self._db, self._table, keys, backoff=self._backoff)
        except dynamo.UnreadKeys as unread:
            raise CollectionBusy("the payments table is busy; nothing was changed") from unread
        items = {i["pk"]: i for i in map(from_item, read)}
        return _settlement_state(items, case_id, court_code, year)

    def commit_settlement(
        self,
        payment: Payment,
        *,
        before: SettlementState,
        standing: CaseStanding,
        receipt: tuple[str, int, int] | None,
        surplus: SurplusDraft | None,
        notice: Notice | None,
        clock: dict[str, Any] | None = None,
        posting: PlannedPosting | None = None,
        also: dict[str, Any] | None = None,
    ) -> bool:
        """One transaction: the ledger posting (if given) with the payment it settles, the
        standing and receipt counter advanced, and any surplus draft, notice and notice clock.
        False if the payment had already succeeded (whatever else failed: that is the first
        outcome); ``PostedBefore`` if the posting's transfer id is taken; ``Contended`` if the
        standing, the counter or a ledger account moved since they were read. ``also`` is one
        more item of the same transaction (the webhook event that told us, recorded once)."""
        writes: list[dict[str, Any]] = [
            self._payment_update(
                payment, "#status <> :succeeded", {":succeeded": PaymentStatus.SUCCEEDED.value}
            ),
            self._standing_put(standing, before.standing.version),
        ]
        if receipt is not None:
            court_code, year, seq = receipt
            writes.append(
                self._conditional_put(
                    receipt_key(court_code, year) | {"next": seq},
                    "attribute_not_exists(pk) OR #next = :seen",
                    {":seen": before.receipt_seq},
                )
            )
        writes += self._derived_puts(surplus, notice, clock)
        if also is None:
            return self._transact(writes, posting)
        writes.append(also)
        return self._transact(writes, posting, event_at=len(writes) - 1)

    def post_claim(self, reference: str, posting: PlannedPosting) -> bool:
        """A claim's ledger posting, only while its unidentified payment is still open (not
        claimed, not taken out of the queue by a refund's approval), in one transaction with a
        mark on the payment naming the claim's transfer: from then on a refund's approval finds
        the money taken (``refund_hold``) even before the claim is recorded, while the claim's
        own retry (the same transfer id) passes. False if it is no longer open;
        ``PostedBefore`` if the claim was posted before; ``Contended`` if an account moved."""
        mark = {
            "Update": {
                "TableName": self._table,
                "Key": to_item(unidentified_key(reference)),
                "UpdateExpression": "SET claim_transfer_id = :claim",
                "ConditionExpression": (
                    "#status = :open AND (attribute_not_exists(claim_transfer_id) "
                    "OR claim_transfer_id = :claim)"
                ),
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(
                    {":open": ClaimStatus.OPEN.value, ":claim": posting.transfer.id}
                ),
            }
        }
        return self._transact([mark], posting)

    def commit_claim(
        self,
        claimed: UnidentifiedPayment,
        *,
        before: CaseStanding,
        standing: CaseStanding,
        surplus: SurplusDraft | None,
        notice: Notice | None,
        clock: dict[str, Any] | None = None,
    ) -> bool:
        """One transaction: the unidentified payment is marked claimed and counts toward the
        case. False if it was no longer open."""
        writes = [
            self._conditional_put(
                self._unidentified_item(claimed),
                "#status = :open",
                {":open": ClaimStatus.OPEN.value},
            ),
            self._standing_put(standing, before.version),
            *self._derived_puts(surplus, notice, clock),
        ]
        return self._transact(writes)

    def commit_counter_cash(
        self,
        entry: CounterCash,
        *,
        before: CaseStanding,
        standing: CaseStanding,
        surplus: SurplusDraft | None,
        notice: Notice | None,
        clock: dict[str, Any] | None = None,
    ) -> bool:
        """One transaction: counter cash is recorded under its ledger transfer's id and counts
        toward the case. False if that transfer was counted before."""
        item = counter_cash_key(entry.transfer_id) | {"doc": entry.model_dump_json()}
        writes = [
            self._conditional_put(item, "attribute_not_exists(pk)", {}),
            self._standing_put(standing, before.version),
            *self._derived_puts(surplus, notice, clock),
        ]
        return self._transact(writes)

    def counter_cash(self, transfer_id: str) -> CounterCash | None:
        item = self._get(counter_cash_key(transfer_id))
        return CounterCash.model_validate_json(item["doc"]) if item else None

    def _standing_put(self, standing: CaseStanding, seen_version: int) -> dict[str, Any]:
        item = standing_key(standing.case_id) | {
            "version": standing.version,
            "doc": standing.model_dump_json(),
        }
        return self._conditional_put(
            item, "attribute_not_exists(pk) OR #version = :seen", {":seen": seen_version}
        )

    def _derived_puts(
        self, surplus: SurplusDraft | None, notice: Notice | None, clock: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """What a count brings about, written with it: the surplus draft, the creditors' notice
        and, in the oversight table, the notice clock's start (an item the clocks built)."""
        puts = []
        if surplus is not None:
            item = {
                "pk": f"CASE#{surplus.case_id}",
                "sk": "SURPLUS",
                "doc": surplus.model_dump_json(),
                "gsi2pk": f"SURPLUS#{surplus.status}",
                "gsi2sk": f"{isoformat(surplus.updated_at)}#{surplus.case_id}",
            }
            puts.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
        if notice is not None:
            puts.append(
                self._conditional_put(self._notice_item(notice), "attribute_not_exists(pk)", {})
            )
        if clock is not None:
            puts.append(clock)
        return puts

    # -- webhook events ----------------------------------------------------------------------

    def webhook_read(
        self,
        rail: str,
        event_id: str,
        payment_id: str | None,
        *,
        case: tuple[str, str, int] | None = None,
        other: tuple[str, dict[str, Any]] | None = None,
    ) -> WebhookRead:
        """What a webhook needs, in one consistent BatchGetItem: whether its event was
        recorded, the payment it names, and with ``case`` (case id, court code, year: as the
        rail's metadata names them) that case's standing and the court's receipt counter for
        the year; ``other`` is one more item of another table (table, key as sent)."""
        keys = [to_item(event_key(rail, event_id))]
        if payment_id is not None:
            keys.append(to_item(payment_key(payment_id)))
        if case is not None:
            case_id, court_code, year = case
            keys += [to_item(standing_key(case_id)), to_item(receipt_key(court_code, year))]
        wanted = {self._table: keys}
        if other is not None:
            wanted.setdefault(other[0], []).append(other[1])
        try:
            read = dynamo.batch_get_tables(self._db, wanted, backoff=self._backoff)
        except dynamo.UnreadKeys as unread:
            raise CollectionBusy("the payments table is busy; nothing was changed") from unread
        items = {i["pk"]: i for i in map(from_item, read.pop(self._table))}
        event = items.get(f"EVENT#{rail}#{event_id}")
        payment = items.get(f"PAY#{payment_id}")
        return WebhookRead(
            event_state=event["state"] if event else None,
            payment=(
                (Payment.model_validate_json(payment["doc"]), payment["request_digest"])
                if payment
                else None
            ),
            settlement=_settlement_state(items, *case) if case is not None else None,
            year=case[2] if case is not None else None,
            other=next((item for found in read.values() for item in found), None),
        )

    def record_event(
        self, rail: str, event_id: str, event_type: str, outcome: str, at: tuple[str, str]
    ) -> bool:
        """Record an event acted on, with its outcome, once; False if it was recorded before
        (a duplicate, or a concurrent delivery that got there first)."""
        item = event_key(rail, event_id) | {
            "state": "processed",
            "event_type": event_type,
            "received_at": at[0],
            "outcome": outcome,
            "processed_at": at[1],
        }
        return self._put(item, "attribute_not_exists(pk)", {})

    def posted_event_item(
        self, rail: str, event_id: str, event_type: str, at: tuple[str, str]
    ) -> dict[str, Any]:
        """An event's record with the outcome ``posted``, as one item of the settlement's
        transaction. ``at`` is when it was received and when it was processed. It also
        corrects the record of another delivery of the same event that answered at the same
        moment, before the payment succeeded at the rail (outcome ``followed``): the event did
        post, and the payment guard keeps the posting to once. A record left ``received`` by
        earlier code is recorded processed; one kept as malformed cancels the transaction."""
        values = {
            ":processed": "processed",
            ":received": "received",
            ":type": event_type,
            ":at": at[0],
            ":posted": "posted",
            ":done": at[1],
        }
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item(event_key(rail, event_id)),
                "UpdateExpression": (
                    "SET #state = :processed, event_type = :type, outcome = :posted,"
                    " received_at = if_not_exists(received_at, :at), processed_at = :done"
                ),
                "ConditionExpression": (
                    "attribute_not_exists(pk) OR #state IN (:received, :processed)"
                ),
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def event_state(self, rail: str, event_id: str) -> str | None:
        item = self._get(event_key(rail, event_id))
        return item["state"] if item else None

    def _transact(
        self,
        writes: Sequence[dict[str, Any]],
        posting: PlannedPosting | None = None,
        *,
        event_at: int | None = None,
    ) -> bool:
        """Commit ``writes`` and the posting's items after them; the first write is the
        idempotency guard, whose failure means the work was done before (False), while a
        failure of any other guard means a race (retry), or at ``event_at`` (a webhook event's
        record) that the event was recorded otherwise (``EventRecorded``). The posting hears
        how it went."""
        from botocore.exceptions import ClientError

        items = [*writes, *(posting.items if posting else ())]
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = dynamo.cancellation_reasons(error)
            if reasons is None:
                if error.response.get("Error", {}).get("Code") in RETRYABLE_ERRORS:
                    if posting is not None:
                        posting.cancelled((TRANSACTION_CONFLICT,))
                    raise Contended("another transaction held an item; read again") from error
                raise
            taken = False
            if posting is not None:
                taken = posting.cancelled(tuple(reasons[len(writes) :])).transfer_exists
            if reasons[:1] == [CONDITION_FAILED]:
                return False
            if taken:
                raise PostedBefore(posting.transfer.id if posting else "") from error
            if event_at is not None and reasons[event_at : event_at + 1] == [CONDITION_FAILED]:
                raise EventRecorded("the event was recorded otherwise") from error
            # TransactionConflict: another transaction (the same payment settling from the
            # webhook and the page at once) held an item; reading again settles who won.
            if CONDITION_FAILED in reasons or TRANSACTION_CONFLICT in reasons:
                raise Contended("a guarded item changed; read again") from error
            raise
        if posting is not None:
            posting.committed()
        return True
