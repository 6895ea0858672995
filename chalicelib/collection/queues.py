"""Collection's queues and marks in the collection table: surplus drafts, misshapen webhook
events, the sweeper's mark and retries, unidentified funds, payments for review and notices owed.
Each is written alone, with its own condition; the settlement's transaction builds on them in
``store.CollectionStore``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.clock import isoformat, parse_iso
from chalicelib.collection.models import (
    ClaimStatus,
    MalformedEventRecord,
    Notice,
    NoticeStatus,
    ReviewItem,
    SurplusDraft,
    UnidentifiedPayment,
)
from chalicelib.collection.table import (
    CollectionTable,
    event_key,
    notice_key,
    sweep_key,
    sweep_retry_key,
    unidentified_key,
)
from chalicelib.dynamo import from_item, to_item


class CollectionQueues(CollectionTable):
    """The queues and marks of collection; every write that can race is conditional."""

    def surplus(self, case_id: str) -> SurplusDraft | None:
        item = self._get({"pk": f"CASE#{case_id}", "sk": "SURPLUS"})
        return SurplusDraft.model_validate_json(item["doc"]) if item else None

    def surplus_drafts(self, *, limit: int = 100) -> list[SurplusDraft]:
        """Cases paid beyond what they owe, newest first: the refunds workflow's inbox."""
        return self._query_index("gsi2", "SURPLUS#draft", SurplusDraft, limit=limit)

    # -- webhook events of the wrong shape, and the sweeper ---------------------------------

    def record_malformed_event(self, record: MalformedEventRecord) -> bool:
        """Keep a misshapen event for review, once; False if it was recorded before."""
        item = event_key(record.rail, record.key) | {
            "state": "malformed",
            "doc": record.model_dump_json(),
            "gsi1pk": "EVENTQ#malformed",
            "gsi1sk": f"{isoformat(record.received_at)}#{record.key}",
        }
        return self._put(item, "attribute_not_exists(pk)", {})

    def malformed_events(self, *, limit: int) -> list[MalformedEventRecord]:
        return self._query_index("gsi1", "EVENTQ#malformed", MalformedEventRecord, limit=limit)

    def sweep_mark(self, rail: str) -> datetime | None:
        """When the last complete sweep of this rail started."""
        item = self._get(sweep_key(rail))
        return parse_iso(item["started_at"]) if item else None

    def set_sweep_mark(self, rail: str, started: datetime) -> None:
        """Move the mark forward only: a slow sweep finishing late never moves it back."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item(sweep_key(rail) | {"started_at": isoformat(started)}),
                ConditionExpression="attribute_not_exists(pk) OR started_at < :started",
                ExpressionAttributeValues=to_item({":started": isoformat(started)}),
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return

    def add_sweep_retry(self, rail: str, reference: str, failed_at: datetime) -> None:
        """Remember a payment the sweeper could not settle, so later runs retry it by itself
        and the mark can move on. It waits in gsi1 until it settles."""
        self._db.update_item(
            TableName=self._table,
            Key=to_item(sweep_retry_key(rail, reference)),
            UpdateExpression=(
                "SET first_failed_at = if_not_exists(first_failed_at, :at), "
                "last_failed_at = :at, gsi1pk = :queue, "
                "gsi1sk = if_not_exists(gsi1sk, :order) ADD attempts :one"
            ),
            ExpressionAttributeValues=to_item(
                {
                    ":at": isoformat(failed_at),
                    ":queue": f"RETRYQ#{rail}",
                    ":order": f"{isoformat(failed_at)}#{reference}",
                    ":one": 1,
                }
            ),
        )

    def sweep_retries(self, rail: str, *, limit: int = 100) -> list[str]:
        """References of payments waiting to be retried, oldest failure first."""
        page = self._db.query(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"RETRYQ#{rail}"}),
            Limit=limit,
        )
        return [from_item(item)["sk"] for item in page["Items"]]

    def settle_sweep_retry(self, rail: str, reference: str, settled_at: datetime) -> None:
        """The payment settled: it leaves the retry queue (kept, not deleted, as a record)."""
        self._db.update_item(
            TableName=self._table,
            Key=to_item(sweep_retry_key(rail, reference)),
            UpdateExpression="SET settled_at = :at REMOVE gsi1pk, gsi1sk",
            ExpressionAttributeValues=to_item({":at": isoformat(settled_at)}),
        )

    # -- unidentified funds and review -------------------------------------------------------

    def add_unidentified(self, item: UnidentifiedPayment) -> bool:
        return self._put(self._unidentified_item(item), "attribute_not_exists(pk)", {})

    def unidentified(self, reference: str) -> UnidentifiedPayment | None:
        item = self._get(unidentified_key(reference))
        if item is None:
            return None
        payment = UnidentifiedPayment.model_validate_json(item["doc"])
        if payment.claim_transfer_id is None and item.get("claim_transfer_id"):
            # a claim posted to the ledger and not recorded yet: the money is taken
            payment = payment.model_copy(update={"claim_transfer_id": item["claim_transfer_id"]})
        return payment

    def refund_hold(self, item: UnidentifiedPayment, refund_id: str) -> dict[str, Any]:
        """The TransactWriteItems entry that takes unidentified money out of the claim queue
        for the refund returning it, only while nobody claimed it: a refund's last approval
        sends it with its own writes, so a claim and a refund never both get the money. A
        claim that posted to the ledger marks the payment first (``post_claim``), so a payment
        so marked is taken even while it still reads open."""
        held = item.model_copy(update={"status": ClaimStatus.REFUNDED, "refund_id": refund_id})
        return self._conditional_put(
            self._unidentified_item(held),
            "#status = :open AND attribute_not_exists(claim_transfer_id)",
            {":open": ClaimStatus.OPEN.value},
        )

    def refund_release(self, item: UnidentifiedPayment, refund_id: str) -> dict[str, Any]:
        """The entry that puts it back in the claim queue when that refund is cancelled."""
        opened = item.model_copy(update={"status": ClaimStatus.OPEN, "refund_id": None})
        return self._conditional_put(
            self._unidentified_item(opened),
            "#status = :refunded AND refund_id = :refund",
            {":refunded": ClaimStatus.REFUNDED.value, ":refund": refund_id},
        )

    def unidentified_queue(self, status: ClaimStatus, *, limit: int) -> list[UnidentifiedPayment]:
        return self._query_index(
            "gsi1", f"CLAIMQ#{status.value}", UnidentifiedPayment, limit=limit, oldest_first=True
        )

    def _unidentified_item(self, item: UnidentifiedPayment) -> dict[str, Any]:
        stored = unidentified_key(item.reference) | {
            "status": item.status.value,
            "doc": item.model_dump_json(),
            "gsi1pk": f"CLAIMQ#{item.status.value}",
            "gsi1sk": f"{isoformat(item.received_at)}#{item.reference}",
        }
        if item.refund_id:
            stored["refund_id"] = item.refund_id  # read by the condition that releases it
        if item.claim_transfer_id:
            stored["claim_transfer_id"] = item.claim_transfer_id  # read by refund_hold
        return stored

    def add_review(self, item: ReviewItem) -> bool:
        record = {
            "pk": f"REVIEW#{item.reference}",
            "sk": "ITEM",
            "doc": item.model_dump_json(),
            "gsi1pk": "REVIEWQ#open",
            "gsi1sk": f"{isoformat(item.received_at)}#{item.reference}",
        }
        return self._put(record, "attribute_not_exists(pk)", {})

    def review_queue(self, *, limit: int) -> list[ReviewItem]:
        return self._query_index("gsi1", "REVIEWQ#open", ReviewItem, limit=limit, oldest_first=True)

    # -- notices -----------------------------------------------------------------------------

    def _notice_item(self, notice: Notice) -> dict[str, Any]:
        return notice_key(notice.key) | {
            "status": notice.status.value,
            "version": len(notice.sent_to),
            "doc": notice.model_dump_json(),
            "gsi2pk": f"NOTICE#{notice.status.value}",
            "gsi2sk": f"{isoformat(notice.created_at)}#{notice.key}",
        }

    def pending_notices(self, *, limit: int = 100) -> list[Notice]:
        return self._query_index("gsi2", "NOTICE#pending", Notice, limit=limit, oldest_first=True)

    def save_pending_notice(self, notice: Notice, *, told_before: int) -> bool:
        """Record a pending notice's progress (or that it was sent), only if it is still
        pending with ``told_before`` recipients told: False if another run moved it first."""
        return self._put(
            self._notice_item(notice),
            "#status = :pending AND (attribute_not_exists(#version) OR #version = :told)",
            {":pending": NoticeStatus.PENDING.value, ":told": told_before},
        )
