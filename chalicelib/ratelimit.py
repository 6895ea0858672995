"""Per-client rate limits on the anonymous routes: a fixed-window counter in DynamoDB.

Account numbers can be computed, so without a limit anyone could walk them and read every
case's standing, or open payment after payment. The app counts each client's calls per window
and answers 429 with ``Retry-After`` past the limit; the deployed API also has a WAF rate rule
in front (``infra/edge.py``), which stops floods before they reach a function.

Item layout in the collection table:
- ``RATE#<bucket>#<client> / WINDOW#<window start, epoch seconds>``: ``n`` counts the calls in
  the window; ``expires_at`` (the table's TTL attribute) lets DynamoDB remove it afterwards.

A client is the hash of its address, so the table keeps no address. A refused call is not
counted, so a client that waits is served again when the window turns.
"""

from __future__ import annotations

import hashlib
import math
from enum import StrEnum
from typing import Any

from chalicelib.clock import Clock
from chalicelib.problems import ProblemError


class Bucket(StrEnum):
    """What a client is doing: each has its own limit."""

    LOOKUP = "lookup"  # reading a case's standing by account number
    PAYMENT = "payment"  # starting or confirming a payment
    FACE_CHECK = "face-check"  # the claim page's face check, per client address
    CLAIM_FACE_CHECK = "claim-face-check"  # the claim page's face check, per claim code


class TooManyRequests(ProblemError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests; wait and try again"


def client_key(address: str) -> str:
    """What the table keeps of a client: a hash of its address, never the address."""
    return hashlib.sha256(address.encode()).hexdigest()[:24]


class RateLimiter:
    def __init__(
        self,
        client: Any,
        table: str,
        clock: Clock,
        *,
        limits: dict[Bucket, int],
        window_seconds: int,
    ) -> None:
        self._db = client
        self._table = table
        self._clock = clock
        self._limits = limits
        self._window = window_seconds

    def hit(self, bucket: Bucket, address: str) -> None:
        """Count one call of ``bucket`` by the client at ``address``; past the limit raise
        ``TooManyRequests`` saying when the window turns."""
        from botocore.exceptions import ClientError

        now = self._clock.now().timestamp()
        start = int(now // self._window) * self._window
        limit = self._limits[bucket]
        try:
            self._db.update_item(
                TableName=self._table,
                Key={
                    "pk": {"S": f"RATE#{bucket.value}#{client_key(address)}"},
                    "sk": {"S": f"WINDOW#{start}"},
                },
                UpdateExpression="ADD n :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":expires": {"N": str(start + 2 * self._window)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            retry_after = max(1, math.ceil(start + self._window - now))
            raise TooManyRequests(
                f"more than {limit} {bucket.value} requests in {self._window} seconds from this "
                f"client; try again in {retry_after} seconds",
                retry_after=retry_after,
            ) from error
