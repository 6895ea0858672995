"""The shared DynamoDB pieces every store uses, on moto: conditional puts, cancelled
transactions read as codes, bounded batch reads with backoff, cursors, the attribute codec."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import dynamo
from chalicelib.retry import Backoff

TABLE = "courtfunds-test-ledger"


def key(n: int) -> dict[str, Any]:
    return {"pk": {"S": f"K#{n:04d}"}, "sk": {"S": "ITEM"}}


def no_wait() -> Backoff:
    return Backoff(base=0.02, cap=1.0, sleep=lambda _: None, rng=random.Random(7))


def test_put_new_writes_once_and_never_overwrites(aws: Any) -> None:
    assert dynamo.put_new(aws, TABLE, key(1) | {"v": {"S": "first"}})
    assert not dynamo.put_new(aws, TABLE, key(1) | {"v": {"S": "second"}})
    stored = aws.get_item(TableName=TABLE, Key=key(1))["Item"]
    assert stored["v"] == {"S": "first"}


def test_a_cancelled_transaction_reads_as_one_code_per_item_in_order(aws: Any) -> None:
    dynamo.put_new(aws, TABLE, key(1))
    items = [
        {"Put": {"TableName": TABLE, "Item": key(2)}},
        {
            "Put": {
                "TableName": TABLE,
                "Item": key(1),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]
    with pytest.raises(ClientError) as cancelled:
        aws.transact_write_items(TransactItems=items)
    assert dynamo.cancellation_reasons(cancelled.value) == ["None", "ConditionalCheckFailed"]
    assert "Item" not in aws.get_item(TableName=TABLE, Key=key(2))


def test_another_error_is_not_read_as_a_cancellation(aws: Any) -> None:
    with pytest.raises(ClientError) as missing:
        aws.get_item(TableName="no-such-table", Key=key(1))
    assert dynamo.cancellation_reasons(missing.value) is None


def test_batch_get_reads_every_existing_key_a_hundred_at_a_time(aws: Any) -> None:
    for n in range(0, 250, 2):
        aws.put_item(TableName=TABLE, Item=key(n))
    calls: list[int] = []
    aws.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem",
        lambda params, **_: calls.append(len(params["RequestItems"][TABLE]["Keys"])),
    )
    found = dynamo.batch_get(aws, TABLE, [key(n) for n in range(250)], backoff=no_wait())
    assert sorted(item["pk"]["S"] for item in found) == [f"K#{n:04d}" for n in range(0, 250, 2)]
    assert calls == [100, 100, 50]


class Throttled:
    """A client whose table leaves the first ``times`` answers' keys unprocessed."""

    def __init__(self, client: Any, times: int) -> None:
        self._client = client
        self.times = times

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        if self.times > 0:
            self.times -= 1
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        return dict(self._client.batch_get_item(RequestItems=RequestItems))


def test_unprocessed_keys_are_asked_again_after_a_jittered_pause(aws: Any) -> None:
    aws.put_item(TableName=TABLE, Item=key(1))
    pauses: list[float] = []
    backoff = Backoff(base=0.02, cap=1.0, sleep=pauses.append, rng=random.Random(3))
    found = dynamo.batch_get(Throttled(aws, 2), TABLE, [key(1)], backoff=backoff)  # type: ignore[arg-type]
    assert [item["pk"]["S"] for item in found] == ["K#0001"]
    assert len(pauses) == 2
    assert 0 <= pauses[0] <= 0.02
    assert 0 <= pauses[1] <= 0.04


def test_batch_get_gives_up_after_its_attempts(aws: Any) -> None:
    with pytest.raises(dynamo.UnreadKeys):
        dynamo.batch_get(Throttled(aws, 99), TABLE, [key(1)], backoff=no_wait(), attempts=3)  # type: ignore[arg-type]


def test_backoff_ceiling_doubles_up_to_its_cap() -> None:
    backoff = Backoff(base=0.01, cap=0.05)
    assert [backoff.ceiling(n) for n in range(5)] == [0.01, 0.02, 0.04, 0.05, 0.05]


NAMES = {"pk", "sk", "gsi1pk", "gsi1sk"}
LAST = {
    "pk": {"S": "CASE#1"},
    "sk": {"S": "CASE"},
    "gsi1pk": {"S": "COURT#粤0604"},
    "gsi1sk": {"S": "2026-11-02#c1"},
}


def test_a_cursor_carries_the_last_key_back() -> None:
    cursor = dynamo.encode_cursor(LAST)
    assert cursor is not None
    assert "=" not in cursor
    assert dynamo.decode_cursor(cursor, names=NAMES, belongs=lambda k: True) == LAST
    assert dynamo.encode_cursor(None) is None


def test_a_cursor_for_another_list_is_refused() -> None:
    cursor = dynamo.encode_cursor(LAST)
    assert cursor is not None
    with pytest.raises(dynamo.CursorRefused) as refused:
        dynamo.decode_cursor(cursor, names=NAMES, belongs=lambda k: k["gsi1pk"] == "COURT#京01")
    assert not refused.value.malformed
    with pytest.raises(dynamo.CursorRefused) as other_shape:
        dynamo.decode_cursor(cursor, names={"pk", "sk"}, belongs=lambda k: True)
    assert not other_shape.value.malformed


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24"])  # not base64; base64 of not JSON
def test_a_malformed_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(dynamo.CursorRefused) as refused:
        dynamo.decode_cursor(cursor, names=NAMES, belongs=lambda k: True)
    assert refused.value.malformed


def test_the_attribute_codec_round_trips_plain_values() -> None:
    values = {
        "n": 12345,
        "s": "粤0604",
        "flag": True,
        "none": None,
        "list": [1, "a"],
        "d": {"x": 2},
    }
    item = dynamo.to_item(values)
    assert item["n"] == {"N": "12345"}
    assert dynamo.from_item(item) == values
    assert dynamo.from_item({"rate": {"N": "0.5"}}) == {"rate": Decimal("0.5")}


def test_near_the_end_of_the_invocation_unread_keys_are_not_waited_for(aws: Any) -> None:
    throttled = Throttled(aws, 99)
    pauses: list[float] = []
    backoff = Backoff(base=0.02, cap=1.0, sleep=pauses.append, time_left=lambda: 1.0)
    with pytest.raises(dynamo.UnreadKeys):
        dynamo.batch_get(throttled, TABLE, [key(1)], backoff=backoff)  # type: ignore[arg-type]
    assert throttled.times == 98  # asked once, then answered instead of waiting
    assert pauses == []
