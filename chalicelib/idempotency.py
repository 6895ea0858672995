"""Client idempotency keys on staff requests that create something (a disbursement, a refund).

The client sends an ``Idempotency-Key`` header, new per intended request. The new item's id is
derived from the key and the token's subject, so the same key from the same person names the
same item whether the first request is still in flight or long done, and one person's key never
reaches another's item. The item keeps a digest of the request; the same key with another
request is refused instead of answered with an item that was not asked for.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from chalicelib.problems import Conflict, FieldProblem, ValidationFailed

HEADER = "Idempotency-Key"
# Printable, without spaces: UUIDs, ULIDs and the like; long enough not to be guessed by chance.
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


class IdempotencyKeyInvalid(ValidationFailed):
    slug = "idempotency-key-invalid"
    title = "The Idempotency-Key header is not a usable key"


class IdempotencyKeyReused(Conflict):
    """The key was already used by this person for a different request."""

    slug = "idempotency-key-reused"
    title = "This Idempotency-Key was used for a different request"


def keyed_id(prefix: str, *, subject: str, key: str, hex_length: int) -> str:
    """The id of the item that ``key``, sent by ``subject``, creates."""
    if not _KEY.match(key):
        raise IdempotencyKeyInvalid(
            "an Idempotency-Key is 8 to 128 letters, digits or _.:- (a new UUID per request)",
            errors=[FieldProblem(pointer="/headers/Idempotency-Key", detail="8-128 A-Za-z0-9_.:-")],
        )
    digest = hashlib.sha256(f"{subject}\n{key}".encode()).hexdigest()
    return prefix + digest[:hex_length]


def request_digest(*parts: Any) -> str:
    """A digest of what was asked (JSON-able parts, in a fixed order)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_same_request(stored_digest: str | None, digest: str, *, item_id: str) -> None:
    """Refuse a replay whose request differs from the one that created ``item_id``."""
    if stored_digest != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; send a new key",
            item_id=item_id,
        )
