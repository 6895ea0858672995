"""Face verification's items in the identity table (generic pk/sk, sparse gsi1).

    pk                          sk               what                       index gsi1 (pk / sk)
    REF#{case_id}#{party_id}    REF              the reference photo on     REFPHOTO#live /
                                                 file (its S3 key, never      {case_id}#{party_id}
                                                 the photo), or its purge
    CLAIM#{disbursement_id}     STATE            failures in the window,    LOCKED#{court} /
                                                 locked or not, versioned     {locked_at}#{disb}
    CLAIM#{disbursement_id}     AT#{at}#{n}      one decision or unlock,
                                                 for the trail (全程留痕)
    CLAIM#{disbursement_id}     AT#{at}#{n}#notice  the case officers told
                                                 of the lock by decision n
    UPLOAD#{s3 key}             UPLOAD           an enrolment's upload,     REFUPLOAD#open /
                                                 written before the photo     {at}#{s3 key}
                                                 goes to S3, closed after
                                                 its record (a crash
                                                 between leaves it open)
    GRANT#{grant_id}            GRANT            a grant: issued, then used
    LIVE#{session_id}           LIVE             a Face Liveness session a claim
                                                 started: open, then used once

Only decisions are kept: outcome, scores, thresholds, checks run and model version. Items leave
an index by losing its attributes (the policy grants no DeleteItem).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.clock import isoformat, parse_iso


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class Contended(Exception):
    """Another attempt on the same claim wrote between our read and our write."""


@dataclass(frozen=True)
class ReferenceRecord:
    case_id: str
    party_id: str
    key: str  # the S3 object key
    enrolled_at: datetime
    enrolled_by: str
    scores: dict[str, float]
    purged_at: datetime | None = None


@dataclass(frozen=True)
class Upload:
    """A reference photo on its way to S3: its key, and the key of the photo it replaces."""

    case_id: str
    party_id: str
    key: str
    replaces: str | None
    at: datetime

    def as_doc(self) -> dict[str, Any]:
        return {**self.__dict__, "at": isoformat(self.at)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Upload:
        return cls(**{**doc, "at": parse_iso(doc["at"])})


@dataclass(frozen=True)
class ClaimState:
    disbursement_id: str
    failures: tuple[datetime, ...] = ()
    locked: bool = False
    locked_at: datetime | None = None
    court: str = ""
    version: int = 0


@dataclass(frozen=True)
class ClaimEvent:
    at: datetime
    kind: str  # "decision", "unlock" or "lock_notice"
    actor: str
    details: dict[str, Any] = field(default_factory=dict)


class FaceStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # reference photos ----------------------------------------------------------------------

    def put_reference(self, record: ReferenceRecord, *, replacing: ReferenceRecord | None) -> bool:
        """Write the record only over the one read before (``replacing``; None: no record yet);
        False if another enrolment or the purge wrote meanwhile, so no photo is left behind
        without a record pointing at it, never to be deleted."""
        item = {
            "pk": _s(f"REF#{record.case_id}#{record.party_id}"),
            "sk": _s("REF"),
            "doc": _s(_reference_doc(record)),
        }
        if record.purged_at is None:
            item["gsi1pk"] = _s("REFPHOTO#live")
            item["gsi1sk"] = _s(f"{record.case_id}#{record.party_id}")
        guard: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if replacing is not None:
            # The document holds the photo's key, a random id no other record contains; the
            # purge time tells a purged record from the live one it was.
            guard = {
                "ConditionExpression": "doc = :before",
                "ExpressionAttributeValues": {":before": _s(_reference_doc(replacing))},
            }
        try:
            self._db.put_item(TableName=self._table, Item=item, **guard)
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def reference(self, case_id: str, party_id: str) -> ReferenceRecord | None:
        answer = self._db.get_item(
            TableName=self._table,
            Key={"pk": _s(f"REF#{case_id}#{party_id}"), "sk": _s("REF")},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return _reference_from(item["doc"]["S"]) if item else None

    def live_references(self, *, after: str | None, limit: int) -> list[ReferenceRecord]:
        """Reference photos still on file, a page at a time (the purge sweeper's queue)."""
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": _s("REFPHOTO#live")},
            "Limit": limit,
        }
        if after:
            arguments["KeyConditionExpression"] += " AND gsi1sk > :a"
            arguments["ExpressionAttributeValues"][":a"] = _s(after)
        items = self._db.query(**arguments).get("Items", [])
        return [_reference_from(item["doc"]["S"]) for item in items]

    def open_upload(self, upload: Upload) -> None:
        """Before a reference photo goes to S3: so a crash before its record is written leaves
        something the purge finds, never a biometric photo nothing points at."""
        item = {
            "pk": _s(f"UPLOAD#{upload.key}"),
            "sk": _s("UPLOAD"),
            "doc": _s(json.dumps(upload.as_doc())),
            "gsi1pk": _s("REFUPLOAD#open"),
            "gsi1sk": _s(f"{isoformat(upload.at)}#{upload.key}"),
        }
        self._db.put_item(TableName=self._table, Item=item)

    def close_upload(self, key: str) -> None:
        """The upload's record is written and the photo it replaced deleted: nothing to find."""
        self._db.update_item(
            TableName=self._table,
            Key={"pk": _s(f"UPLOAD#{key}"), "sk": _s("UPLOAD")},
            UpdateExpression="REMOVE gsi1pk, gsi1sk",
        )

    def open_uploads(self, *, before: datetime, limit: int) -> list[Upload]:
        """Uploads still open that began before ``before``, oldest first."""
        items = self._db.query(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p AND gsi1sk < :before",
            ExpressionAttributeValues={
                ":p": _s("REFUPLOAD#open"),
                ":before": _s(isoformat(before)),
            },
            Limit=limit,
        ).get("Items", [])
        return [Upload.from_doc(json.loads(item["doc"]["S"])) for item in items]

    # claims: attempts, lockout, unlock ------------------------------------------------------

    def claim(self, disbursement_id: str) -> ClaimState:
        answer = self._db.get_item(
            TableName=self._table,
            Key={"pk": _s(f"CLAIM#{disbursement_id}"), "sk": _s("STATE")},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        if not item:
            return ClaimState(disbursement_id=disbursement_id)
        doc = json.loads(item["doc"]["S"])
        return ClaimState(
            disbursement_id=disbursement_id,
            failures=tuple(parse_iso(t) for t in doc["failures"]),
            locked=bool(doc["locked"]),
            locked_at=parse_iso(doc["locked_at"]) if doc.get("locked_at") else None,
            court=str(doc.get("court", "")),
            version=int(item["version"]["N"]),
        )

    def claim_events(self, disbursement_id: str) -> list[ClaimEvent]:
        answer = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
            ExpressionAttributeValues={":p": _s(f"CLAIM#{disbursement_id}"), ":a": _s("AT#")},
            ConsistentRead=True,
        )
        events = []
        for item in answer.get("Items", []):
            doc = json.loads(item["doc"]["S"])
            events.append(
                ClaimEvent(
                    at=parse_iso(doc["at"]),
                    kind=doc["kind"],
                    actor=doc["actor"],
                    details=doc["details"],
                )
            )
        return events

    def locked_claims(self, court: str, *, limit: int = 50) -> list[ClaimState]:
        answer = self._db.query(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": _s(f"LOCKED#{court}")},
            Limit=limit,
        )
        return [self.claim(item["pk"]["S"].removeprefix("CLAIM#")) for item in answer["Items"]]

    def record(
        self,
        before: ClaimState,
        after: ClaimState,
        event: ClaimEvent,
        *,
        grant: dict[str, Any] | None = None,
    ) -> None:
        """The claim's new state, the event and any grant, in one transaction guarded by the
        claim's version, so two attempts at once cannot both count as the fifth."""
        state_item: dict[str, Any] = {
            "pk": _s(f"CLAIM#{after.disbursement_id}"),
            "sk": _s("STATE"),
            "version": _n(before.version + 1),
            "doc": _s(
                json.dumps(
                    {
                        "failures": [isoformat(t) for t in after.failures],
                        "locked": after.locked,
                        "locked_at": isoformat(after.locked_at) if after.locked_at else None,
                        "court": after.court,
                    }
                )
            ),
        }
        if after.locked and after.locked_at is not None:
            state_item["gsi1pk"] = _s(f"LOCKED#{after.court}")
            state_item["gsi1sk"] = _s(f"{isoformat(after.locked_at)}#{after.disbursement_id}")
        guard: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if before.version == 0
            else {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": _n(before.version)},
            }
        )
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": state_item, **guard}},
            {
                "Put": {
                    "TableName": self._table,
                    "Item": claim_event_item(
                        after.disbursement_id,
                        f"AT#{isoformat(event.at)}#{before.version + 1:06d}",
                        event,
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if grant is not None:
            items.append({"Put": {"TableName": self._table, "Item": grant}})
        try:
            self._db.transact_write_items(TransactItems=items)
        except self._db.exceptions.TransactionCanceledException as error:
            raise Contended(after.disbursement_id) from error

    def begin_lock_notice(
        self, disbursement_id: str, locked_at: datetime, version: int, event: ClaimEvent
    ) -> bool:
        """Record that the officers are being told of the lock at ``locked_at``; False if that
        lock's notice was recorded already, so it is sent once."""
        sk = _notice_key(locked_at, version)
        try:
            self._db.put_item(
                TableName=self._table,
                Item=claim_event_item(disbursement_id, sk, event),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish_lock_notice(
        self, disbursement_id: str, locked_at: datetime, version: int, event: ClaimEvent
    ) -> None:
        """What became of the notice: sent (to whom), failed, or no one to tell."""
        sk = _notice_key(locked_at, version)
        self._db.put_item(
            TableName=self._table,
            Item=claim_event_item(disbursement_id, sk, event),
            ConditionExpression="attribute_exists(pk)",
        )

    # grants ---------------------------------------------------------------------------------

    def grant_item(
        self, grant_id: str, doc: dict[str, Any], expires_at: datetime
    ) -> dict[str, Any]:
        return {
            "pk": _s(f"GRANT#{grant_id}"),
            "sk": _s("GRANT"),
            "state": _s("issued"),
            "expires_at": _s(isoformat(expires_at)),
            "doc": _s(json.dumps(doc, ensure_ascii=False)),
        }

    def grant_use_item(self, grant_id: str, *, now: datetime, used_for: str) -> dict[str, Any]:
        """The conditional update that uses a grant once, for a caller's transaction: it fails
        if the grant is unknown, already used or expired."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s(f"GRANT#{grant_id}"), "sk": _s("GRANT")},
                "UpdateExpression": "SET #s = :used, used_at = :now, used_for = :for",
                "ConditionExpression": "#s = :issued AND expires_at > :now",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {
                    ":used": _s("used"),
                    ":issued": _s("issued"),
                    ":now": _s(isoformat(now)),
                    ":for": _s(used_for),
                },
            }
        }

    def grant_state(self, grant_id: str) -> str | None:
        answer = self._db.get_item(
            TableName=self._table,
            Key={"pk": _s(f"GRANT#{grant_id}"), "sk": _s("GRANT")},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return str(item["state"]["S"]) if item else None

    def use_grant(self, grant_id: str, *, now: datetime, used_for: str) -> bool:
        """Use a grant on its own (the release step puts ``grant_use_item`` in its own
        transaction instead); False if it was used, expired or never issued."""
        try:
            self._db.transact_write_items(
                TransactItems=[self.grant_use_item(grant_id, now=now, used_for=used_for)]
            )
        except self._db.exceptions.TransactionCanceledException:
            return False
        return True

    # liveness sessions -------------------------------------------------------------------

    def put_liveness_session(
        self, session_id: str, disbursement_id: str, attempt: int, *, at: datetime
    ) -> bool:
        """A session this claim started: only this claim may use it, once. False if the id
        is on file already (it never moves to another claim)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": _s(f"LIVE#{session_id}"),
                    "sk": _s("LIVE"),
                    "state": _s("open"),
                    "disbursement_id": _s(disbursement_id),
                    "attempt": _n(attempt),
                    "started_at": _s(isoformat(at)),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def use_liveness_session(
        self, session_id: str, disbursement_id: str, attempt: int, *, at: datetime
    ) -> bool:
        """Mark the session used for a decision on this claim; False if it is unknown, was
        started by another claim or payout attempt, or was used already."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": _s(f"LIVE#{session_id}"), "sk": _s("LIVE")},
                UpdateExpression="SET #s = :used, used_at = :at",
                ConditionExpression="#s = :open AND disbursement_id = :d AND attempt = :a",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={
                    ":used": _s("used"),
                    ":open": _s("open"),
                    ":at": _s(isoformat(at)),
                    ":d": _s(disbursement_id),
                    ":a": _n(attempt),
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True


def claim_event_item(disbursement_id: str, sk: str, event: ClaimEvent) -> dict[str, Any]:
    """One entry of a claim's trail (a decision, unlock, notice or review step) as an item."""
    return {
        "pk": _s(f"CLAIM#{disbursement_id}"),
        "sk": _s(sk),
        "doc": _s(
            json.dumps(
                {
                    "at": isoformat(event.at),
                    "kind": event.kind,
                    "actor": event.actor,
                    "details": event.details,
                },
                ensure_ascii=False,
            )
        ),
    }


def _notice_key(locked_at: datetime, version: int) -> str:
    # right after the decision that locked the claim (version ``version``) in the trail
    return f"AT#{isoformat(locked_at)}#{version:06d}#notice"


def _reference_doc(record: ReferenceRecord) -> str:
    return json.dumps(
        {
            "case_id": record.case_id,
            "party_id": record.party_id,
            "key": record.key,
            "enrolled_at": isoformat(record.enrolled_at),
            "enrolled_by": record.enrolled_by,
            "scores": record.scores,
            "purged_at": isoformat(record.purged_at) if record.purged_at else None,
        },
        ensure_ascii=False,
    )


def _reference_from(doc: str) -> ReferenceRecord:
    data = json.loads(doc)
    return ReferenceRecord(
        case_id=data["case_id"],
        party_id=data["party_id"],
        key=data["key"],
        enrolled_at=parse_iso(data["enrolled_at"]),
        enrolled_by=data["enrolled_by"],
        scores=data["scores"],
        purged_at=parse_iso(data["purged_at"]) if data.get("purged_at") else None,
    )
