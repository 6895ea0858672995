"""A write-only byte stream into one S3 object by multipart upload, in parts of a fixed size:
memory holds one part's buffer, allocated once and reused, whatever the export's size. It
counts the bytes and their SHA-256 on the way, for the manifest."""

from __future__ import annotations

import hashlib
import io
from typing import Any

PART_BYTES = 5 * 1024 * 1024  # S3's smallest part (but the last): the least memory held


class MultipartSink(io.RawIOBase):
    def __init__(
        self, client: Any, bucket: str, key: str, *, content_type: str, part_bytes: int = PART_BYTES
    ) -> None:
        super().__init__()
        self.client = client
        self.bucket = bucket
        self.key = key
        self.part_bytes = part_bytes
        self.size = 0
        self._hash = hashlib.sha256()
        # filled in place and handed to boto3 as it is (a bytearray body is sent, not copied),
        # so a small export and a large one hold the same memory
        self._buffer = bytearray(part_bytes)
        self._filled = 0
        self._parts: list[dict[str, Any]] = []
        self._upload_id = client.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType=content_type
        )["UploadId"]

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = memoryview(data).cast("B")
        written = len(chunk)
        self._hash.update(chunk)
        self.size += written
        while chunk:
            room = self.part_bytes - self._filled
            taken = chunk[:room]
            self._buffer[self._filled : self._filled + len(taken)] = taken
            self._filled += len(taken)
            chunk = chunk[len(taken) :]
            if self._filled == self.part_bytes:
                self._upload(self._buffer)
                self._filled = 0
        return written

    def tell(self) -> int:
        return self.size

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def _upload(self, part: bytearray) -> None:
        number = len(self._parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=part
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def finish(self) -> None:
        """Upload what is left and complete the object."""
        if self._filled or not self._parts:
            del self._buffer[self._filled :]  # shrinks in place: the last part may be short
            self._upload(self._buffer)
            self._filled = 0
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def abort(self) -> None:
        self.client.abort_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
        )
