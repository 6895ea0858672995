"""The one place adapters are built: lazily, from the environment, once per process.

Nothing here runs at import time, so a Lambda cold start pays only for what a request uses and
tests can point everything at moto before the first call. Tests call ``reset()`` between cases
and ``override(clock=...)`` to inject a clock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.clock import Clock, SystemClock

if TYPE_CHECKING:
    from chalicelib.collection.rail import PaymentRail
    from chalicelib.notifications.interface import Notifier
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


def stage() -> str:
    return os.environ.get("STAGE", "local")


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise RuntimeError(f"the environment variable {name} is not set")
    return value


def table_name(env_var: str) -> str:
    """The physical name of a table, by its environment variable (``infra.tables`` names them;
    ``.chalice/config.json`` sets them per stage, and a test checks the two agree)."""
    return setting(env_var)


def settings() -> Settings:
    """The validated settings, read once (and again after ``reset()``)."""

    def build() -> Settings:
        from chalicelib.settings import load

        return load()

    return cached("settings", build)


def clock() -> Clock:
    return cached("clock", SystemClock)


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


def payment_rail() -> PaymentRail:
    """The payment rail (Stripe). STRIPE_API_BASE points it at localstripe in the local stack."""

    def build() -> PaymentRail:
        from chalicelib.collection.stripe_rail import StripeRail, StripeSettings

        settings = StripeSettings(
            secret_key=setting("STRIPE_API_KEY"),
            publishable_key=setting("STRIPE_PUBLISHABLE_KEY"),
            webhook_secrets=tuple(setting("STRIPE_WEBHOOK_SECRET").split(",")),
            api_base=setting("STRIPE_API_BASE", "") or None,
            wallets=tuple(w for w in setting("STRIPE_WALLETS", "").split(",") if w),
        )
        return StripeRail(settings, clock=clock())

    return cached("payment_rail", build)


def notifier() -> Notifier:
    """Where notifications go: NOTIFY_BY=sms sends SMS through SNS; otherwise (the local stack,
    tests) they go to the outbox file in NOTIFY_OUTBOX_DIR."""

    def build() -> Notifier:
        from pathlib import Path

        from chalicelib.notifications import (
            Channel,
            ChannelNotifier,
            OutboxNotifier,
            SnsSmsSender,
        )

        if setting("NOTIFY_BY", "outbox") == "sms":
            import boto3

            sender = SnsSmsSender(
                boto3.client("sns"), sender_id=setting("SMS_SENDER_ID", "") or None
            )
            return ChannelNotifier({Channel.SMS: sender}, clock=clock())
        folder = Path(setting("NOTIFY_OUTBOX_DIR", ".local/outbox"))
        return OutboxNotifier(folder / "notifications.jsonl", clock=clock())

    return cached("notifier", build)
