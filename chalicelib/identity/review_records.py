"""Human reviews' items in the identity table, beside the claims they belong to.

    pk                          sk               what                       index gsi1 (pk / sk)
    REVIEW#{review_id}          REVIEW           the review: its payout,    REVIEWS#open /
                                                 state, the selfie's S3       {expires_at}#{id}
                                                 key until it is deleted      (while open)
    CLAIM#{disbursement_id}     REVIEW           the claim's latest review
                                                 and its state (one open)
    CLAIM#{disbursement_id}     AT#{at}#review…  each step, in the trail

Every change writes the review, the claim's pointer and the trail entry in one transaction,
guarded by the state the change starts from.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.clock import isoformat, parse_iso
from chalicelib.identity.face_records import ClaimEvent, Contended, claim_event_item
from chalicelib.identity.grants import Binding

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.identity.face_reviews import Review

OPEN_STATES = ("pending", "approved")


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class ReviewStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def open_review(self, review: Review, event: ClaimEvent) -> None:
        """A new review, refused (``Contended``) while another of the claim is open."""
        self._write(
            review,
            event,
            review_guard={"ConditionExpression": "attribute_not_exists(pk)"},
            pointer_guard={
                "ConditionExpression": "attribute_not_exists(pk) OR NOT (#s IN (:p, :a))",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":p": _s("pending"), ":a": _s("approved")},
            },
        )

    def save_review(self, before: Review, after: Review, event: ClaimEvent) -> None:
        """The review's next state, if it is still in ``before``'s state."""
        self._write(
            after,
            event,
            review_guard={
                "ConditionExpression": "#s = :was",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":was": _s(before.state)},
            },
            pointer_guard={},
        )

    def review(self, review_id: str) -> Review | None:
        answer = self._db.get_item(
            TableName=self._table,
            Key={"pk": _s(f"REVIEW#{review_id}"), "sk": _s("REVIEW")},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return _review_from(item["doc"]["S"]) if item else None

    def claim_review(self, disbursement_id: str) -> Review | None:
        answer = self._db.get_item(
            TableName=self._table,
            Key={"pk": _s(f"CLAIM#{disbursement_id}"), "sk": _s("REVIEW")},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return self.review(item["review_id"]["S"]) if item else None

    def open_reviews(self, *, expiring_before: datetime | None = None) -> list[Review]:
        """Reviews not yet decided or collected, soonest to expire first."""
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": _s("REVIEWS#open")},
        }
        if expiring_before is not None:
            arguments["KeyConditionExpression"] += " AND gsi1sk < :t"
            arguments["ExpressionAttributeValues"][":t"] = _s(isoformat(expiring_before))
        reviews: list[Review] = []
        while True:
            answer = self._db.query(**arguments)
            reviews += [_review_from(item["doc"]["S"]) for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                return reviews
            arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _write(
        self,
        review: Review,
        event: ClaimEvent,
        *,
        review_guard: dict[str, Any],
        pointer_guard: dict[str, Any],
    ) -> None:
        item: dict[str, Any] = {
            "pk": _s(f"REVIEW#{review.review_id}"),
            "sk": _s("REVIEW"),
            "state": _s(review.state),
            "doc": _s(_review_doc(review)),
        }
        if review.state in OPEN_STATES:
            item["gsi1pk"] = _s("REVIEWS#open")
            item["gsi1sk"] = _s(f"{isoformat(review.expires_at)}#{review.review_id}")
        pointer = {
            "pk": _s(f"CLAIM#{review.disbursement_id}"),
            "sk": _s("REVIEW"),
            "review_id": _s(review.review_id),
            "state": _s(review.state),
        }
        trail_key = f"AT#{isoformat(event.at)}#review-{uuid.uuid4().hex[:8]}"
        items = [
            {"Put": {"TableName": self._table, "Item": item, **review_guard}},
            {"Put": {"TableName": self._table, "Item": pointer, **pointer_guard}},
            {
                "Put": {
                    "TableName": self._table,
                    "Item": claim_event_item(review.disbursement_id, trail_key, event),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        try:
            self._db.transact_write_items(TransactItems=items)
        except self._db.exceptions.TransactionCanceledException as error:
            raise Contended(review.review_id) from error

    def add_claim_event(self, disbursement_id: str, event: ClaimEvent) -> None:
        """A trail entry on its own (a reviewer looking at the photos)."""
        self._db.put_item(
            TableName=self._table,
            Item=claim_event_item(
                disbursement_id, f"AT#{isoformat(event.at)}#review-{uuid.uuid4().hex[:8]}", event
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )


def _review_doc(review: Review) -> str:
    return json.dumps(
        {
            "review_id": review.review_id,
            "binding": review.binding.__dict__,
            "court": review.court,
            "case_number": review.case_number,
            "proposed_by": review.proposed_by,
            "requested_at": isoformat(review.requested_at),
            "expires_at": isoformat(review.expires_at),
            "state": review.state,
            "photo_key": review.photo_key,
            "decided_by": review.decided_by,
            "decided_by_actor": review.decided_by_actor,
            "decided_at": isoformat(review.decided_at) if review.decided_at else None,
            "reason": review.reason,
        },
        ensure_ascii=False,
    )


def _review_from(doc: str) -> Review:
    from chalicelib.identity.face_reviews import Review

    data = json.loads(doc)
    return Review(
        review_id=data["review_id"],
        binding=Binding(**data["binding"]),
        court=data["court"],
        case_number=data["case_number"],
        proposed_by=data["proposed_by"],
        requested_at=parse_iso(data["requested_at"]),
        expires_at=parse_iso(data["expires_at"]),
        state=data["state"],
        photo_key=data["photo_key"],
        decided_by=data["decided_by"],
        decided_by_actor=data["decided_by_actor"],
        decided_at=parse_iso(data["decided_at"]) if data["decided_at"] else None,
        reason=data["reason"],
    )
