"""Two-person entries in the collection table: counter cash waiting for confirmation, and claims
of unidentified money waiting for confirmation.

    pk                              sk        what                          index (pk / sk)
    CASHENTRY#{id}                  ENTRY     counter cash as entered       gsi1 CASHQ#{status}
                                                                                 / {at}#{id}
    CASHRECEIPT#{court}#{number}    RECEIPT   the paper receipt number, held by one entry per
                                              court (released when that entry is rejected)
    CLAIMPROPOSAL#{reference}       PROPOSAL  the claim proposed for it     gsi1 CLAIMPQ#{status}
                                                                                 / {at}#{ref}

Each model is stored whole as JSON in ``doc``; ``status`` sits beside it for the conditions.
Each write takes the approval chain's own writes (``also``: the approvals capability's planned
items) into the same TransactWriteItems, so an entry and its chain change together or not at all.
The policy has no DeleteItem: a released receipt number is marked so, not deleted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.clock import isoformat
from chalicelib.collection.models import CashEntry, ClaimProposal, Decision

CONFLICT_ATTEMPTS = 4
HELD = "held"
RELEASED = "released"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _entry_key(entry_id: str) -> dict[str, Any]:
    return {"pk": _s(f"CASHENTRY#{entry_id}"), "sk": _s("ENTRY")}


def _receipt_key(court_code: str, receipt_no: str) -> dict[str, Any]:
    return {"pk": _s(f"CASHRECEIPT#{court_code}#{receipt_no.casefold()}"), "sk": _s("RECEIPT")}


def _proposal_key(reference: str) -> dict[str, Any]:
    return {"pk": _s(f"CLAIMPROPOSAL#{reference}"), "sk": _s("PROPOSAL")}


class DecisionStore:
    """Reads and conditional writes of two-person entries; answers in the domain's words."""

    def __init__(
        self, client: Any, table: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._db = client
        self._table = table
        self._sleep = sleep

    # -- counter cash ------------------------------------------------------------------------

    def add_cash_entry(self, entry: CashEntry, *, also: Sequence[dict[str, Any]] = ()) -> bool:
        """Record a new entry and hold its receipt number for its court, in one transaction.
        False if the id or the receipt number is taken (read both to tell which)."""
        receipt = _receipt_key(entry.court_code, entry.receipt_no) | {
            "entry_id": _s(entry.id),
            "status": _s(HELD),
        }
        writes = [
            self._put(self._entry_item(entry), "attribute_not_exists(pk)", {}),
            self._put(
                receipt,
                "attribute_not_exists(pk) OR #status = :released",
                {":released": _s(RELEASED)},
            ),
            *also,
        ]
        return self._transact(writes)

    def cash_entry(self, entry_id: str) -> CashEntry | None:
        item = self._get(_entry_key(entry_id))
        return CashEntry.model_validate_json(item["doc"]["S"]) if item else None

    def receipt_holder(self, court_code: str, receipt_no: str) -> str | None:
        """The entry holding this receipt number in this court, if any holds it."""
        item = self._get(_receipt_key(court_code, receipt_no))
        if item is None or item["status"]["S"] != HELD:
            return None
        return str(item["entry_id"]["S"])

    def decide_cash_entry(self, decided: CashEntry, *, also: Sequence[dict[str, Any]] = ()) -> bool:
        """Move a proposed entry to its decision, once; a rejected entry gives its receipt
        number back, so the clerk can enter the same paper receipt correctly."""
        writes = [
            self._put(self._entry_item(decided), "#status = :proposed", _proposed()),
        ]
        if decided.status == Decision.REJECTED:
            receipt = _receipt_key(decided.court_code, decided.receipt_no) | {
                "entry_id": _s(decided.id),
                "status": _s(RELEASED),
            }
            writes.append(self._put(receipt, "entry_id = :id", {":id": _s(decided.id)}))
        return self._transact([*writes, *also])

    def cash_entries(self, status: Decision, *, limit: int) -> list[CashEntry]:
        return [CashEntry.model_validate_json(doc) for doc in self._queue("CASHQ", status, limit)]

    def _entry_item(self, entry: CashEntry) -> dict[str, Any]:
        return _entry_key(entry.id) | {
            "status": _s(entry.status.value),
            "doc": _s(entry.model_dump_json()),
            "gsi1pk": _s(f"CASHQ#{entry.status.value}"),
            "gsi1sk": _s(f"{isoformat(entry.entered_at)}#{entry.id}"),
        }

    # -- claims ------------------------------------------------------------------------------

    def add_claim_proposal(
        self, proposal: ClaimProposal, *, also: Sequence[dict[str, Any]] = ()
    ) -> bool:
        """Record a proposal unless one is waiting (or was confirmed) for the same money."""
        return self._transact(
            [
                self._put(
                    self._proposal_item(proposal),
                    "attribute_not_exists(pk) OR #status = :rejected",
                    {":rejected": _s(Decision.REJECTED.value)},
                ),
                *also,
            ]
        )

    def claim_proposal(self, reference: str) -> ClaimProposal | None:
        item = self._get(_proposal_key(reference))
        return ClaimProposal.model_validate_json(item["doc"]["S"]) if item else None

    def decide_claim_proposal(
        self, decided: ClaimProposal, *, also: Sequence[dict[str, Any]] = ()
    ) -> bool:
        return self._transact(
            [self._put(self._proposal_item(decided), "#status = :proposed", _proposed()), *also]
        )

    def claim_proposals(self, status: Decision, *, limit: int) -> list[ClaimProposal]:
        docs = self._queue("CLAIMPQ", status, limit)
        return [ClaimProposal.model_validate_json(doc) for doc in docs]

    def _proposal_item(self, proposal: ClaimProposal) -> dict[str, Any]:
        return _proposal_key(proposal.reference) | {
            "status": _s(proposal.status.value),
            "doc": _s(proposal.model_dump_json()),
            "gsi1pk": _s(f"CLAIMPQ#{proposal.status.value}"),
            "gsi1sk": _s(f"{isoformat(proposal.proposed_at)}#{proposal.reference}"),
        }

    # -- plumbing ----------------------------------------------------------------------------

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._db.get_item(
            TableName=self._table, Key=key, ConsistentRead=True
        ).get("Item")
        return item

    def _queue(self, prefix: str, status: Decision, limit: int) -> list[str]:
        page = self._db.query(
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"{prefix}#{status.value}")},
            ScanIndexForward=True,
            Limit=limit,
        )
        return [str(item["doc"]["S"]) for item in page["Items"]]

    def _put(self, item: dict[str, Any], condition: str, values: dict[str, Any]) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": condition,
        }
        if "#status" in condition:
            put["ExpressionAttributeNames"] = {"#status": "status"}
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _transact(self, writes: list[dict[str, Any]]) -> bool:
        """Commit ``writes``; False if a condition failed (the caller reads to learn why).

        DynamoDB cancels a transaction that meets another one on the same item (the same
        request sent twice at once); trying again after the other commits turns that into a
        plain condition failure, so the twin is answered with what the first one wrote."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._db.transact_write_items(TransactItems=writes)
            except self._db.exceptions.TransactionCanceledException as error:
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons:
                    return False
                if "TransactionConflict" not in reasons or attempt == CONFLICT_ATTEMPTS - 1:
                    raise
                self._sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter
                continue
            return True
        return False


def _proposed() -> dict[str, Any]:
    return {":proposed": _s(Decision.PROPOSED.value)}
