"""The composition root: every service and adapter of the product is built here, lazily, once.

Nothing here runs at import time, so a Lambda cold start pays only for what a request uses and
tests can point everything at moto before the first call. Capability packages never build their
own dependencies and never import this module: only the entry points (``app.py``, the
``routes.py`` of each capability, the pages and the HTTP edge) ask it for a service, and a
capability's service module is imported only when its first route runs. Tests call ``reset()``
between cases and ``override(clock=...)`` to inject a clock or any other built object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.clock import Clock, SystemClock

if TYPE_CHECKING:
    from chalicelib.cases.service import CaseService
    from chalicelib.collection.rail import PaymentRail
    from chalicelib.collection.service import CollectionService
    from chalicelib.identity.face_interface import FaceVerifier
    from chalicelib.identity.face_records import FaceStore
    from chalicelib.identity.face_service import FaceChecks
    from chalicelib.identity.reference_photo_store import ReferencePhotos
    from chalicelib.identity.tokens import TokenVerifier
    from chalicelib.ledger.service import LedgerService
    from chalicelib.notifications.interface import Notifier
    from chalicelib.ratelimit import RateLimiter
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


# -- settings and shared adapters ------------------------------------------------------------


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
    """Where secrets are read by name: SSM Parameter Store in dev and prod, the local stack's
    folder otherwise."""

    def build() -> Secrets:
        from pathlib import Path

        from chalicelib.secrets import DirectorySecrets, ParameterStoreSecrets

        if settings().secrets_from == "ssm":
            import boto3

            return ParameterStoreSecrets(boto3.client("ssm"))
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
    """The S3 client (reference photos). AWS_ENDPOINT_URL_S3 points it at moto locally."""

    def build() -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2)
        )

    return cached("s3", build)


def payment_rail() -> PaymentRail:
    """The payment rail (Stripe), its keys read from the secrets on first use. STRIPE_API_BASE
    points it at localstripe in the local stack."""

    def build() -> PaymentRail:
        from chalicelib.collection.stripe_rail import StripeRail, StripeSettings

        named, read = settings(), secrets()
        stripe = StripeSettings(
            secret_key=read.get(named.stripe_secret_key_name),
            publishable_key=read.get(named.stripe_publishable_key_name),
            webhook_secrets=tuple(read.get(named.stripe_webhook_secret_name).split(",")),
            api_base=named.stripe_api_base or None,
            wallets=tuple(w for w in named.stripe_wallets.split(",") if w),
        )
        return StripeRail(stripe, clock=clock())

    return cached("payment_rail", build)


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


# -- services, one per capability --------------------------------------------------------------


def token_verifier() -> TokenVerifier:
    """Staff sign-in: the token verifier for this stage's issuer (Cognito in dev and prod)."""

    def build() -> TokenVerifier:
        from chalicelib.identity.tokens import TokenSettings, TokenVerifier

        sign_in = settings().sign_in()
        return TokenVerifier(
            TokenSettings(
                stage=settings().stage,
                issuer=sign_in.issuer,
                audience=sign_in.audience,
                jwks_url=sign_in.jwks_url,
                jwks_file=sign_in.jwks_file,
                max_age_seconds=settings().max_token_age_hours * 3600,
            )
        )

    return cached("token_verifier", build)


def ledger_service() -> LedgerService:
    """The ledger: the system of record every capability posts through."""

    def build() -> LedgerService:
        from chalicelib.ledger.service import LedgerService

        return LedgerService(dynamodb(), settings().ledger_table, clock())

    return cached("ledger", build)


def _open_ledger_account(account_number: str, case_id: str, currency: str) -> object:
    return ledger_service().open_case_account(account_number, case_id=case_id, currency=currency)


def case_service() -> CaseService:
    """Cases: filing, parties and status; opening a case opens its ledger account."""

    def build() -> CaseService:
        from chalicelib.cases.service import CaseService
        from chalicelib.cases.store import CasesStore

        store = CasesStore(dynamodb(), settings().cases_table)
        return CaseService(store, clock(), _open_ledger_account)

    return cached("cases", build)


def collection_service() -> CollectionService:
    """Online collection: the pay page, webhooks, the sweeper, claims and counter cash."""

    def build() -> CollectionService:
        from chalicelib.collection.service import CollectionService
        from chalicelib.collection.store import CollectionStore

        return CollectionService(
            CollectionStore(dynamodb(), settings().collection_table),
            payment_rail,
            clock(),
            cases=case_service(),
            ledger=ledger_service(),
            notifier=notifier(),
            max_payment_multiple=settings().max_payment_multiple,
        )

    return cached("collection", build)


def face_verifier() -> FaceVerifier:
    """The face verifier the settings choose: Rekognition, or dlib offline (loaded here, on the
    first face check, never at import)."""

    def build() -> FaceVerifier:
        from chalicelib.identity.face_interface import build_verifier

        the_settings = settings()
        if the_settings.face_verifier == "rekognition":
            import boto3

            return build_verifier(the_settings, rekognition=boto3.client("rekognition"))
        return build_verifier(the_settings)

    return cached("face_verifier", build)


def face_store() -> FaceStore:
    def build() -> FaceStore:
        from chalicelib.identity.face_records import FaceStore

        return FaceStore(dynamodb(), settings().identity_table)

    return cached("face_store", build)


def reference_photos() -> ReferencePhotos:
    """Creditors' reference photos: checked on enrolment, encrypted in S3, purged after the
    retention once the case is concluded."""

    def build() -> ReferencePhotos:
        from chalicelib.identity.reference_photo_store import ReferencePhotos

        return ReferencePhotos(
            s3=s3(),
            bucket=settings().reference_photos_bucket,
            store=face_store(),
            verifier=face_verifier,
            clock=clock(),
        )

    return cached("reference_photos", build)


def face_checks() -> FaceChecks:
    """The creditor's face check on a claim: decisions, lockout, grants."""

    def build() -> FaceChecks:
        from datetime import timedelta

        from chalicelib.identity.face_service import FaceCheckLimits, FaceChecks
        from chalicelib.identity.grants import GrantSigner

        the_settings = settings()
        grant_key = secrets().get(the_settings.face_grant_key_name).encode()
        return FaceChecks(
            store=face_store(),
            photos=reference_photos(),
            verifier=face_verifier,
            signer=GrantSigner(grant_key),
            clock=clock(),
            limits=FaceCheckLimits(
                grant_ttl=timedelta(seconds=the_settings.face_grant_ttl_seconds),
                max_failures=the_settings.face_max_failures,
                failure_window=timedelta(minutes=the_settings.face_failure_window_minutes),
            ),
        )

    return cached("face_checks", build)


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
            },
            window_seconds=config.rate_window_seconds,
        )

    return cached("rate_limiter", build)
