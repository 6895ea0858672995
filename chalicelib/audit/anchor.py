"""The write-once digest bucket on S3: objects locked in compliance mode, read back by key.

The bucket has Object Lock on with a default compliance retention (``infra/audit.py``); each
object is also written with its own retain-until date, so no one, the account's root user
included, can delete or overwrite a locked version before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any


class AnchorBucket:
    def __init__(self, client: Any, bucket: str, *, retention_days: int) -> None:
        self.client = client
        self.bucket = bucket
        self.retention = timedelta(days=retention_days)

    def put_locked(
        self, key: str, body: bytes | IO[bytes], *, now: datetime, content_type: str
    ) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=now + self.retention,
        )

    def get(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(answer["Body"].read())

    def lines_from(self, key: str, offset: int) -> Iterator[tuple[int, bytes]]:
        """The object's lines from byte ``offset``, each with the offset after it, streamed."""
        extra: dict[str, str] = {"Range": f"bytes={offset}-"} if offset else {}
        answer = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        position = offset
        for line in answer["Body"].iter_lines(keepends=True):
            position += len(line)
            yield position, line.rstrip(b"\n")

    def last_key(self, prefix: str) -> str | None:
        """The greatest key under ``prefix`` (keys carry zero-padded numbers)."""
        last = None
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                last = str(item["Key"])
        return last
