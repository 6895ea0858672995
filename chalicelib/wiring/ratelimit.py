"""Builds the per-client limits on anonymous routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.shared import cached, clock, dynamodb, settings, table_name

if TYPE_CHECKING:
    from chalicelib.ratelimit import RateLimiter


def rate_limiter() -> RateLimiter:
    """Per-client limits on anonymous routes, counted in the collection table."""

    def build() -> RateLimiter:
        from chalicelib.ratelimit import Bucket, RateLimiter

        config = settings()
        return RateLimiter(
            dynamodb(),
            table_name("COLLECTION_TABLE"),
            clock(),
            limits={
                Bucket.LOOKUP: config.public_lookups_per_window,
                Bucket.PAYMENT: config.public_payments_per_window,
                Bucket.FACE_CHECK: config.public_face_checks_per_window,
                Bucket.CLAIM_FACE_CHECK: config.face_checks_per_code_per_window,
            },
            window_seconds=config.rate_window_seconds,
        )

    return cached("rate_limiter", build)
