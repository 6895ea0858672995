"""What every DynamoDB store needs, written once: the attribute codec, conditional puts, reading a
cancelled transaction, bounded batch reads with jittered backoff, and page cursors.

Each store keeps its own item layout; this module knows no capability. The client is typed with
``mypy-boto3-dynamodb`` for the type checker only, so nothing here imports boto3 at run time.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.retry import Backoff

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from mypy_boto3_dynamodb.client import DynamoDBClient

Item = dict[str, Any]  # an item in DynamoDB's attribute-value form ({"S": ...}, {"N": ...})

BATCH_GET_LIMIT = 100  # keys per BatchGetItem: DynamoDB's own limit
CONDITION_FAILED = "ConditionalCheckFailed"


# -- attribute codec ---------------------------------------------------------------------------


@functools.cache
def _codec() -> tuple[TypeSerializer, TypeDeserializer]:
    """boto3's attribute-value codec, imported on first use: importing boto3 costs a Lambda
    cold start about 70 ms, which a path that writes raw attribute values never needs."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> Item:
    """Plain values (str, int, Decimal, bool, None, lists, dicts) as a DynamoDB item."""
    serializer = _codec()[0]
    return {name: serializer.serialize(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values; numbers come back as ``int`` where they are whole."""
    deserializer = _codec()[1]
    return {name: _plain(deserializer.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# -- writes ------------------------------------------------------------------------------------


def put_new(client: DynamoDBClient, table: str, item: Item) -> bool:
    """Put an item whose key is not taken yet; False (and nothing written) if it is."""
    from botocore.exceptions import ClientError

    try:
        client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def cancellation_reasons(error: Exception) -> list[str] | None:
    """Why a TransactWriteItems was cancelled, one code per item in the order sent (``"None"``
    for an item that was fine); None if ``error`` is not a cancelled transaction."""
    response = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    reasons = response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


# -- batch reads -------------------------------------------------------------------------------


class UnreadKeys(Exception):
    """DynamoDB kept leaving keys unprocessed (the table is throttled); nothing was changed."""


def batch_get(
    client: DynamoDBClient,
    table: str,
    keys: Iterable[Item],
    *,
    backoff: Backoff,
    attempts: int = 6,
) -> list[Item]:
    """Every item among ``keys`` that exists, read consistently, 100 keys a call; unprocessed
    keys are asked again after a jittered pause, at most ``attempts`` times per call, and not
    once the invocation's time is nearly up (``UnreadKeys`` then)."""
    return batch_get_tables(client, {table: keys}, backoff=backoff, attempts=attempts)[table]


def batch_get_tables(
    client: DynamoDBClient,
    keys: Mapping[str, Iterable[Item]],
    *,
    backoff: Backoff,
    attempts: int = 6,
) -> dict[str, list[Item]]:
    """``batch_get`` over several tables at once (one call for up to 100 keys in all): the
    items found, by table."""
    pending = [(table, key) for table, table_keys in keys.items() for key in table_keys]
    found: dict[str, list[Item]] = {table: [] for table in keys}
    while pending:
        request: dict[str, Any] = {}
        for table, key in pending[:BATCH_GET_LIMIT]:
            request.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(key)
        pending = pending[BATCH_GET_LIMIT:]
        for attempt in range(attempts):
            answer = client.batch_get_item(RequestItems=request)
            for table, items in answer["Responses"].items():
                found[table].extend(items)
            request = dict(answer.get("UnprocessedKeys") or {})
            if not request:
                break
            # No wait after the last try, nor one into the invocation's last moments: the
            # caller answers busy (a 503 to repeat) rather than being cut off by the timeout.
            if attempt + 1 == attempts or not backoff.pause(attempt):
                tries = f"{attempt + 1} time{'s' if attempt else ''}"
                raise UnreadKeys(f"{', '.join(request)} left keys unread {tries}")
    return found


# -- page cursors ------------------------------------------------------------------------------


class CursorRefused(ValueError):
    """A cursor that this list did not hand out (``malformed``) or that points elsewhere."""

    def __init__(self, *, malformed: bool) -> None:
        super().__init__("malformed cursor" if malformed else "cursor for another list")
        self.malformed = malformed


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    """An opaque cursor for a page's last key (string attributes only, as every key here)."""
    if not key:
        return None
    plain = {name: value["S"] for name, value in sorted(key.items())}
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str, *, names: set[str], belongs: Callable[[dict[str, str]], bool]
) -> Item:
    """The start key a cursor carries, only if it has exactly the key ``names`` and ``belongs``
    to the list asked for: a client cannot page into another list with a crafted cursor."""
    try:
        plain = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise CursorRefused(malformed=True) from error
    if (
        not isinstance(plain, dict)
        or set(plain) != names
        or not all(isinstance(value, str) for value in plain.values())
        or not belongs(plain)
    ):
        raise CursorRefused(malformed=False)
    return {name: {"S": value} for name, value in plain.items()}
