"""Item clocks, their daily escalations and the published unclaimed funds, in the oversight table.

    pk                      sk               what
    CLOCK#{kind}#{subject}  CLOCK            the item's clock
                                             gsi1 CLOCKS#{state} / {court}#{due}#{subject}
                                             gsi2 CASECLOCKS#{case} / {kind}#{subject}
                                             (clocks of money that arrived on a case)
    CLOCK#{kind}#{subject}  ESCALATED#{day}  one escalation, at most one per item and day
    CASE#{case}             TOLD             the last day the case's creditor was told
    PUBLISHED#{reference}   NOTICE           unclaimed money published (公示)
                                             gsi1 PUBLISHED#{status} / {since}#{reference}

``state`` in the index is ``open``, ``met`` or ``withdrawn``: the daily job reads the open
clocks only. The
escalation record is written only if absent, which is what makes a re-run of the daily job
escalate nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from chalicelib.deadlines.clocks import ItemClock, LimitKind
from chalicelib.deadlines.models import Escalation, Publication, PublicationStatus

CONDITION_FAILED = "ConditionalCheckFailedException"


def _clock_pk(kind: LimitKind, subject: str) -> str:
    return f"CLOCK#{kind.value}#{subject}"


class DeadlineStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    # -- clocks ----------------------------------------------------------------------------

    def clock(self, kind: LimitKind, subject: str) -> ItemClock | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _clock_pk(kind, subject)}, "sk": {"S": "CLOCK"}},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return ItemClock.model_validate_json(item["doc"]["S"]) if item else None

    def start(self, clock: ItemClock) -> bool:
        """Record a new clock; one that exists is kept as it is (False)."""
        return self._put(self._clock_item(clock), "attribute_not_exists(pk)")

    def start_item(self, clock: ItemClock) -> dict[str, Any]:
        """A clock's start as one item of another capability's TransactWriteItems, so the clock
        starts in the transaction of what started it. A clock that exists is kept as it is
        (every attribute only if absent), so the item never cancels that transaction."""
        item = self._clock_item(clock)
        key = {"pk": item.pop("pk"), "sk": item.pop("sk")}
        names = {f"#{name}": name for name in item}
        return {
            "Update": {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": "SET "
                + ", ".join(f"#{name} = if_not_exists(#{name}, :{name})" for name in item),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {f":{name}": value for name, value in item.items()},
            }
        }

    def save(self, clock: ItemClock) -> None:
        self._client.put_item(TableName=self._table, Item=self._clock_item(clock))

    def open_clocks(self, *, page_size: int = 500) -> Iterator[ItemClock]:
        yield from self._index("CLOCKS#open", ItemClock, page_size=page_size)

    def met_clocks(self, court: str, *, page_size: int = 500) -> Iterator[ItemClock]:
        """A court's clocks that were met (how long things took, for monitoring)."""
        yield from self._index("CLOCKS#met", ItemClock, page_size=page_size, prefix=f"{court}#")

    def clocks_of_case(self, kind: LimitKind, case_id: str) -> list[ItemClock]:
        """The clocks of one kind started by money arriving on a case (a case sees a few)."""
        args: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :pk AND begins_with(gsi2sk, :kind)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"CASECLOCKS#{case_id}"},
                ":kind": {"S": f"{kind.value}#"},
            },
        }
        found: list[ItemClock] = []
        while True:
            answer = self._client.query(**args)
            found += [ItemClock.model_validate_json(i["doc"]["S"]) for i in answer["Items"]]
            if "LastEvaluatedKey" not in answer:
                return found
            args["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _clock_item(self, clock: ItemClock) -> dict[str, Any]:
        state = "open"
        if clock.met_on is not None:
            state = "met"
        elif clock.withdrawn_on is not None:
            state = "withdrawn"
        item = {
            "pk": {"S": _clock_pk(clock.kind, clock.subject)},
            "sk": {"S": "CLOCK"},
            "doc": {"S": clock.model_dump_json()},
            "gsi1pk": {"S": f"CLOCKS#{state}"},
            "gsi1sk": {"S": f"{clock.court}#{clock.due_on.isoformat()}#{clock.subject}"},
        }
        if clock.case_id is not None:
            item["gsi2pk"] = {"S": f"CASECLOCKS#{clock.case_id}"}
            item["gsi2sk"] = {"S": f"{clock.kind.value}#{clock.subject}"}
        return item

    # -- the creditor told ---------------------------------------------------------------------

    def creditor_told(self, case_id: str, on: date) -> None:
        """Record that the case's creditor was told on ``on`` (a later day replaces an earlier
        one, never the other way round)."""
        self._put(
            {
                "pk": {"S": f"CASE#{case_id}"},
                "sk": {"S": "TOLD"},
                "told_on": {"S": on.isoformat()},
            },
            "attribute_not_exists(pk) OR told_on < :on",
            {":on": {"S": on.isoformat()}},
        )

    def creditor_told_on(self, case_id: str) -> date | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": "TOLD"}},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return date.fromisoformat(item["told_on"]["S"]) if item else None

    # -- escalations -------------------------------------------------------------------------

    def escalate_once(self, escalation: Escalation) -> bool:
        """Record today's escalation of an item; False if it was escalated today already."""
        return self._put(
            {
                "pk": {"S": _clock_pk(escalation.kind, escalation.subject)},
                "sk": {"S": f"ESCALATED#{escalation.day.isoformat()}"},
                "doc": {"S": escalation.model_dump_json()},
            },
            "attribute_not_exists(pk)",
        )

    def escalations(self, kind: LimitKind, subject: str) -> list[Escalation]:
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
            ExpressionAttributeValues={
                ":pk": {"S": _clock_pk(kind, subject)},
                ":e": {"S": "ESCALATED#"},
            },
            ConsistentRead=True,
        )
        return [Escalation.model_validate_json(i["doc"]["S"]) for i in answer["Items"]]

    # -- publication (公示) -------------------------------------------------------------------

    def publish(self, publication: Publication) -> bool:
        return self._put(self._publication_item(publication), "attribute_not_exists(pk)")

    def update_publication(self, publication: Publication) -> None:
        self._client.put_item(TableName=self._table, Item=self._publication_item(publication))

    def publication(self, reference: str) -> Publication | None:
        answer = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"PUBLISHED#{reference}"}, "sk": {"S": "NOTICE"}},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return Publication.model_validate_json(item["doc"]["S"]) if item else None

    def publications(self, status: PublicationStatus, *, limit: int = 500) -> list[Publication]:
        return list(self._index(f"PUBLISHED#{status.value}", Publication, page_size=limit))[:limit]

    def _publication_item(self, publication: Publication) -> dict[str, Any]:
        return {
            "pk": {"S": f"PUBLISHED#{publication.reference}"},
            "sk": {"S": "NOTICE"},
            "doc": {"S": publication.model_dump_json()},
            "gsi1pk": {"S": f"PUBLISHED#{publication.status.value}"},
            "gsi1sk": {"S": f"{publication.published_on.isoformat()}#{publication.reference}"},
        }

    # -- plumbing ----------------------------------------------------------------------------

    def _put(
        self, item: dict[str, Any], condition: str, values: dict[str, Any] | None = None
    ) -> bool:
        from botocore.exceptions import ClientError

        extra = {"ExpressionAttributeValues": values} if values else {}
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression=condition, **extra
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == CONDITION_FAILED:
                return False
            raise
        return True

    def _index(
        self, partition: str, model: Any, *, page_size: int, prefix: str | None = None
    ) -> Iterator[Any]:
        args: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "Limit": page_size,
        }
        if prefix is not None:
            args["KeyConditionExpression"] += " AND begins_with(gsi1sk, :prefix)"
            args["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        while True:
            answer = self._client.query(**args)
            for item in answer["Items"]:
                yield model.model_validate_json(item["doc"]["S"])
            if "LastEvaluatedKey" not in answer:
                return
            args["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
