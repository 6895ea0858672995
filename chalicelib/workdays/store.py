"""Announced holiday schedules in the oversight table, every entry kept as a version.

    pk               sk          what
    CALENDAR#{year}  V#{0001}    one entered version of the year's schedule (never changed)
    CALENDAR         YEARS       the set of years with an entered schedule

The current schedule is the highest version; the policy grants no DeleteItem, and an entry is
written only if its version is new, so two administrators entering at once cannot both win.
"""

from __future__ import annotations

from typing import Any

from chalicelib.workdays.errors import ScheduleConflict
from chalicelib.workdays.models import YearSchedule


def _pk(year: int) -> str:
    return f"CALENDAR#{year}"


class ScheduleStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def current(self, year: int) -> YearSchedule | None:
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
            ExpressionAttributeValues={":pk": {"S": _pk(year)}, ":v": {"S": "V#"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = answer.get("Items", [])
        return YearSchedule.model_validate_json(items[0]["doc"]["S"]) if items else None

    def history(self, year: int) -> list[YearSchedule]:
        """Every version entered for the year, oldest first (a few per year at most)."""
        versions: list[YearSchedule] = []
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :v)",
            "ExpressionAttributeValues": {":pk": {"S": _pk(year)}, ":v": {"S": "V#"}},
            "ConsistentRead": True,
        }
        while True:
            answer = self._client.query(**args)
            versions += [YearSchedule.model_validate_json(i["doc"]["S"]) for i in answer["Items"]]
            if "LastEvaluatedKey" not in answer:
                return versions
            args["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def years(self) -> tuple[int, ...]:
        answer = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": "CALENDAR"}, "sk": {"S": "YEARS"}},
            ConsistentRead=True,
        )
        values = answer.get("Item", {}).get("years", {}).get("NS", [])
        return tuple(sorted(int(v) for v in values))

    def add(self, schedule: YearSchedule) -> None:
        """Write a new version and list its year, in one transaction; a version that exists
        already (a rival's entry) raises ``ScheduleConflict``."""
        from botocore.exceptions import ClientError

        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": {"S": _pk(schedule.year)},
                                "sk": {"S": f"V#{schedule.version:04d}"},
                                "doc": {"S": schedule.model_dump_json()},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": "CALENDAR"}, "sk": {"S": "YEARS"}},
                            "UpdateExpression": "ADD years :y",
                            "ExpressionAttributeValues": {":y": {"NS": [str(schedule.year)]}},
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise ScheduleConflict(
                    f"version {schedule.version} of {schedule.year} was entered meanwhile; "
                    "read the current schedule and enter again"
                ) from error
            raise
