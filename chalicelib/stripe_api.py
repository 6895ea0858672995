"""How every rail on Stripe (payments and refunds, payouts) talks to it: one client, one way to
call it, one check of its signed webhooks.

Each rail names its own errors (``StripeFailures``), so a capability answers in its own words;
what Stripe's answers mean, and how a webhook signature is checked, is decided here once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar

import stripe

if TYPE_CHECKING:
    from chalicelib.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")


class StripeAccount(Protocol):
    """What every rail's settings say of the Stripe account it uses."""

    @property
    def secret_key(self) -> str: ...
    @property
    def api_base(self) -> str | None: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def webhook_secrets(self) -> tuple[str, ...]: ...
    @property
    def tolerance(self) -> timedelta: ...
    @property
    def future_skew(self) -> timedelta: ...


Account = TypeVar("Account", bound=StripeAccount)


def stripe_client(
    secret_key: str,
    *,
    api_base: str | None,
    timeout_seconds: float,
    http_client: stripe.HTTPClient | None = None,
) -> stripe.StripeClient:
    """The SDK's client; ``api_base`` points it at the local Stripe stand-in or localstripe."""
    base = {"api": api_base} if api_base else None
    return stripe.StripeClient(
        secret_key,
        base_addresses=base,  # type: ignore[arg-type]
        max_network_retries=2,  # the SDK resends with the same idempotency key
        http_client=http_client or stripe.new_default_http_client(timeout=timeout_seconds),
    )


@dataclass(frozen=True)
class StripeFailures:
    """A rail's own errors for what Stripe answers, each built from a message a person can
    read. ``service`` names the rail to them ("the payment service")."""

    service: str
    refused: Callable[[str], Exception]  # the request was refused: resending it will not help
    unavailable: Callable[[str], Exception]  # no answer: the same request may be sent again
    rejected: Callable[[str], Exception]  # a webhook that is not Stripe's, or not fresh
    # a card declined, with Stripe's decline code; None where the rail takes no cards
    declined: Callable[[str, str | None], Exception] | None = None
    # our keys or permissions refused (nothing was sent); None lets the SDK's error through
    credentials: Callable[[str], Exception] | None = None


def call(request: Callable[[], T], failures: StripeFailures) -> T:
    """Run one SDK call, turning Stripe's errors into the rail's own."""
    try:
        return request()
    except stripe.StripeError as error:
        failure = _failure(error, failures)
        if failure is None:
            raise
        raise failure from error


def _failure(error: stripe.StripeError, failures: StripeFailures) -> Exception | None:
    if isinstance(error, stripe.CardError) and failures.declined is not None:
        return failures.declined(error.user_message or "the card was declined", error.code)
    if isinstance(error, stripe.InvalidRequestError):
        return failures.refused(error.user_message or f"{failures.service} refused the request")
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        return failures.unavailable(f"{failures.service} did not answer; try again")
    if failures.credentials is not None:
        return failures.credentials(f"{failures.service} refused our credentials")
    return None


def webhook_secrets(given: tuple[str, ...]) -> tuple[str, ...]:
    """The webhook secrets to accept (several while one is being rotated). An empty secret is
    one anyone can sign with: a stray comma or space in the list never becomes one."""
    return tuple(s.strip() for s in given if s.strip())


def verify_webhook(
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    secrets: tuple[str, ...],
    now: datetime,
    tolerance: timedelta,
    future_skew: timedelta,
    rejected: Callable[[str], Exception],
) -> datetime:
    """When a webhook was signed, once its signature is checked under one of ``secrets``.
    Stripe's scheme: HMAC-SHA256 of ``"{t}." + body`` under the endpoint secret, sent as
    ``Stripe-Signature: t=...,v1=...``. The timestamp is inside the signature, so a replay
    cannot refresh it; one older than ``tolerance`` or more than ``future_skew`` ahead of our
    own clock is refused. Every refusal is ``rejected(reason)``."""
    header = next((v for k, v in headers.items() if k.lower() == "stripe-signature"), None)
    if not header:
        raise rejected("the Stripe-Signature header is missing")
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()) or not signatures:
        raise rejected("the Stripe-Signature header is malformed")
    if not secrets:
        log.error("no Stripe webhook secret is configured; every webhook is refused")
        raise rejected("no webhook secret is configured here")
    signed_payload = timestamp.encode() + b"." + raw_body
    expected = [
        hmac.new(secret.encode(), signed_payload, hashlib.sha256).hexdigest().encode()
        for secret in secrets
    ]
    # Bytes, not str: compare_digest refuses non-ASCII text, which a forger may send.
    given = [s.encode("utf-8", "replace") for s in signatures]
    if not any(hmac.compare_digest(e, s) for e in expected for s in given):
        raise rejected("the webhook signature does not match its body")
    signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    if signed_at < now - tolerance:
        raise rejected("the webhook timestamp is too old; a replay is refused")
    if signed_at > now + future_skew:
        raise rejected("the webhook timestamp is in the future")
    return signed_at


class StripeAdapter(Generic[Account]):
    """A rail on Stripe: one client with the account's keys, every call answered in the rail's
    own errors (``failures``), and its webhooks checked against our own clock."""

    name = "stripe"
    failures: ClassVar[StripeFailures]

    def __init__(
        self,
        settings: Account,
        *,
        clock: Clock,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._client = stripe_client(
            settings.secret_key,
            api_base=settings.api_base,
            timeout_seconds=settings.timeout_seconds,
            http_client=http_client,
        )

    def _call(self, request: Callable[[], T]) -> T:
        return call(request, self.failures)

    def _verify(self, raw_body: bytes, headers: Mapping[str, str]) -> datetime:
        """When the webhook was signed, once it is checked as Stripe's own."""
        return verify_webhook(
            raw_body,
            headers,
            secrets=self._settings.webhook_secrets,
            now=self._clock.now(),
            tolerance=self._settings.tolerance,
            future_skew=self._settings.future_skew,
            rejected=self.failures.rejected,
        )
