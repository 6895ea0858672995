"""The shared part of the composition root: the build-once cache, the settings, the clock,
the secrets and the AWS clients every capability's wiring uses.

Nothing here runs at import time: a client is built on its first use, so tests can point
everything at moto before the first call. ``reset()`` forgets everything built;
``override(clock=...)`` puts a test's own object in place of any built one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.clock import Clock, SystemClock

if TYPE_CHECKING:
    from chalicelib.notifications.interface import Notifier
    from chalicelib.secrets import Secrets
    from chalicelib.settings import Settings

T = TypeVar("T")

_lock = threading.RLock()
_cache: dict[str, Any] = {}


def cached(name: str, factory: Callable[[], T]) -> T:
    """Build ``name`` once with ``factory`` and keep it until ``reset()``."""
    with _lock:
        if name not in _cache:
            _cache[name] = factory()
        return _cache[name]  # type: ignore[no-any-return]


def override(**objects: Any) -> None:
    """Replace built objects (``clock=...``, ``dynamodb=...``) until the next ``reset()``."""
    with _lock:
        _cache.update(objects)


def reset() -> None:
    with _lock:
        _cache.clear()


def table_name(env_var: str) -> str:
    """The physical name of a table, by the variable that names it (``LEDGER_TABLE``):
    ``infra.tables`` names the tables, ``config.json`` sets them per stage, a test checks both."""
    return str(getattr(settings(), env_var.lower()))


def settings() -> Settings:
    """The validated settings, read once (and again after ``reset()``)."""

    def build() -> Settings:
        from chalicelib.settings import load

        return load()

    return cached("settings", build)


def clock() -> Clock:
    return cached("clock", SystemClock)


def secrets() -> Secrets:
    """Where secrets are read by name: SSM Parameter Store (or Secrets Manager, where a court
    keeps its keys there) in dev and prod, the local stack's folder otherwise."""

    def build() -> Secrets:
        from pathlib import Path

        from chalicelib.secrets import (
            DirectorySecrets,
            ParameterStoreSecrets,
            SecretsManagerSecrets,
        )

        if settings().secrets_from == "ssm":
            import boto3

            return ParameterStoreSecrets(boto3.client("ssm"))
        if settings().secrets_from == "secretsmanager":
            import boto3

            return SecretsManagerSecrets(boto3.client("secretsmanager"))
        return DirectorySecrets(Path(settings().secrets_dir))

    return cached("secrets", build)


def dynamodb() -> Any:
    """The low-level DynamoDB client. AWS_ENDPOINT_URL_DYNAMODB points it at moto or another
    endpoint; boto3 reads that variable itself."""

    def build() -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "dynamodb",
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2),
        )

    return cached("dynamodb", build)


def s3() -> Any:
    """The S3 client (reference photos, digests, exports). AWS_ENDPOINT_URL_S3 points it at moto
    locally."""

    def build() -> Any:
        import boto3
        from botocore.config import Config

        # SigV4 presigned links carry their lifetime (X-Amz-Expires); every region accepts them
        return boto3.client(
            "s3",
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=2,
                signature_version="s3v4",
            ),
        )

    return cached("s3", build)


def kms() -> Any:
    def build() -> Any:
        import boto3

        return boto3.client("kms")

    return cached("kms", build)


def notifier() -> Notifier:
    """Where notifications go: ``notify_by=sms`` sends SMS through SNS; otherwise (the local
    stack, tests) they go to the outbox file in ``notify_outbox_dir``."""

    def build() -> Notifier:
        from pathlib import Path

        from chalicelib.notifications import (
            Channel,
            ChannelNotifier,
            OutboxNotifier,
            SnsSmsSender,
        )

        if settings().notify_by == "sms":
            import boto3

            sender = SnsSmsSender(boto3.client("sns"), sender_id=settings().sms_sender_id or None)
            return ChannelNotifier({Channel.SMS: sender}, clock=clock())
        folder = Path(settings().notify_outbox_dir)
        return OutboxNotifier(folder / "notifications.jsonl", clock=clock())

    return cached("notifier", build)
