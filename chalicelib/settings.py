"""The product's settings: one validated object, read from the environment once per process.

Every limit, ceiling, switch, table name and secret name the code reads lives here (nothing else
in ``chalicelib`` reads the environment, and a test holds that), so that a stage's configuration
is checked at cold start and a wrong value is a clear error naming the setting, not a surprise
in the middle of a request. Secrets are not values here but names: ``chalicelib.secrets`` reads
them from SSM Parameter Store in dev and prod and from ``.local/secrets/`` in the local stack.
Capabilities add their fields in their own section below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_RECEIPT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
POOL_ID = r"^([a-z]{2}(-[a-z]+)+-\d_[0-9A-Za-z]+)?$"  # ap-east-1_AbCdEf123, or not set


class MissingSetting(RuntimeError):
    """A setting a capability needs is not configured for this stage; the message names it."""


@dataclass(frozen=True)
class SignIn:
    """Where staff tokens come from and how to check them."""

    issuer: str
    audience: str
    jwks_url: str | None
    jwks_file: str | None


class CourtLimits(BaseModel):
    """Statutory time limits in working days: unidentified funds claimed (认领) within 3 of
    arrival, the creditor told within 5 of money arriving on the case, disbursed (发放) within
    15 unless deferred with approval. ``near_due`` working days before a due date an item shows
    as near due. ``published_days`` is how long unclaimed money stays published (公示) before
    it goes to a refund draft."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    claim: int = Field(default=3, ge=1, le=60)
    notice: int = Field(default=5, ge=1, le=60)
    disbursement: int = Field(default=15, ge=1, le=120)
    near_due: int = Field(default=1, ge=0, le=10)
    published_days: int = Field(default=30, ge=1, le=366)


class CourtLimitOverride(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    claim: int | None = Field(default=None, ge=1, le=60)
    notice: int | None = Field(default=None, ge=1, le=60)
    disbursement: int | None = Field(default=None, ge=1, le=120)
    near_due: int | None = Field(default=None, ge=0, le=10)
    published_days: int | None = Field(default=None, ge=1, le=366)


class Settings(BaseSettings):
    """What a deployed stage (``.chalice/config.json``), the local stack or a test sets."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    # Deployment
    stage: str = Field(default="local", pattern=r"^[a-z][a-z0-9-]{0,30}$")

    # Tables (names come from infra/tables.py; config.json sets them per stage)
    cases_table: str = Field(min_length=3)
    payouts_table: str = Field(min_length=3)
    ledger_table: str = Field(min_length=3)
    collection_table: str = Field(min_length=3)
    approvals_table: str = Field(min_length=3)
    refunds_table: str = Field(min_length=3)

    oversight_table: str = Field(min_length=3)

    # Secrets: where they are read from, and under which names
    secrets_from: str = Field(default="directory", pattern=r"^(directory|ssm|secretsmanager)$")
    secrets_dir: str = ".local/secrets"
    stripe_secret_key_name: str = Field(default="stripe-secret-key", min_length=1)
    stripe_publishable_key_name: str = Field(default="stripe-publishable-key", min_length=1)
    stripe_webhook_secret_name: str = Field(default="stripe-webhook-secret", min_length=1)
    export_signing_key_name: str = Field(default="export-signing-key", min_length=1)

    # Sign-in: Amazon Cognito in dev and prod; the local stack's own key in local
    cognito_user_pool_id: str = Field(default="", pattern=POOL_ID)
    cognito_app_client_id: str = Field(default="", pattern=r"^[0-9a-z]*$")
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_jwks_file: str | None = None

    # Notifications
    notify_by: str = Field(default="outbox", pattern=r"^(outbox|sms)$")
    sms_sender_id: str | None = None
    notify_outbox_dir: str = ".local/outbox"

    # Paying creditors (案款发放)
    public_base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^/]+$")
    payout_reservation_days: int = Field(default=60, ge=1, le=365)
    claim_link_days: int = Field(default=15, ge=1, le=60)
    claim_failures_allowed: int = Field(default=10, ge=1, le=1000)  # per client per window
    claim_window_minutes: int = Field(default=15, ge=1, le=1440)
    payout_step_grace_seconds: int = Field(default=120, ge=10, le=3600)
    payout_poll_minutes: int = Field(default=30, ge=1, le=1440)
    stripe_financial_account: str | None = None
    stripe_payout_routing_number: str | None = None

    # Collection
    receipt_font: str = DEFAULT_RECEIPT_FONT
    stripe_api_base: str | None = None  # localstripe in the local stack; Stripe itself if unset
    stripe_wallets: str = ""  # comma-separated wallet names the pay page offers

    def sign_in(self) -> SignIn:
        """The token issuer for this stage; raises ``MissingSetting`` naming what is not set."""
        if self.stage == "local":
            issuer, audience, jwks_file = self.auth_issuer, self.auth_audience, self.auth_jwks_file
            if not issuer or not audience or not jwks_file:
                missing = [
                    name
                    for name, value in (
                        ("AUTH_ISSUER", issuer),
                        ("AUTH_AUDIENCE", audience),
                        ("AUTH_JWKS_FILE", jwks_file),
                    )
                    if not value
                ]
                raise MissingSetting(
                    "the local stage signs in with the local stack's key: set "
                    + " and ".join(missing)
                )
            return SignIn(issuer, audience, None, jwks_file)
        missing = [
            name
            for name, value in (
                ("COGNITO_USER_POOL_ID", self.cognito_user_pool_id),
                ("COGNITO_APP_CLIENT_ID", self.cognito_app_client_id),
            )
            if not value
        ]
        if missing:
            raise MissingSetting(
                f"staff sign-in in the {self.stage} stage needs the Amazon Cognito user pool: set "
                + " and ".join(missing)
                + " in .chalice/config.json (the pool id looks like ap-east-1_AbCdEf123)"
            )
        region = self.cognito_user_pool_id.split("_", 1)[0]
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{self.cognito_user_pool_id}"
        return SignIn(issuer, self.cognito_app_client_id, f"{issuer}/.well-known/jwks.json", None)

    def secret_names(self) -> tuple[str, ...]:
        """Every secret this stage reads: the IAM policy grants reading exactly these."""
        return (
            self.stripe_secret_key_name,
            self.stripe_publishable_key_name,
            self.stripe_webhook_secret_name,
            self.export_signing_key_name,
            self.face_grant_key_name,
        )

    # Face verification of creditors (刷脸发款)
    identity_table: str = Field(min_length=3)
    reference_photos_bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{2,62}$")
    # "local" compares offline with dlib (make run, courts that keep biometrics on premises);
    # "rekognition" calls Amazon Rekognition (dev, prod).
    face_verifier: str = Field(default="local", pattern=r"^(local|rekognition)$")
    face_similarity_threshold: float = Field(default=99.0, ge=80.0, le=100.0)  # Rekognition, %
    face_distance_threshold: float = Field(default=0.5, gt=0.0, le=0.6)  # dlib, lower is closer
    face_liveness: bool = False  # Rekognition Face Liveness sessions, where the stage enables it
    face_liveness_min_confidence: float = Field(default=90.0, ge=50.0, le=100.0)
    face_min_width_fraction: float = Field(default=0.15, gt=0.0, lt=1.0)  # of the photo's width
    face_min_width_pixels: int = Field(default=80, ge=40)
    # Brightness and sharpness of the face on a 0..100 scale (Rekognition's; the local
    # verifier measures luma and the variance of the Laplacian on the same scale).
    face_min_brightness: float = Field(default=25.0, ge=0.0, le=100.0)
    face_min_sharpness: float = Field(default=10.0, ge=0.0, le=100.0)
    face_photo_max_bytes: int = Field(default=3 * 1024 * 1024, ge=64 * 1024, le=5 * 1024 * 1024)
    reference_photo_retention_days: int = Field(default=90, ge=0, le=3650)  # after conclusion
    # The HMAC key of verification grants (32 bytes or more), a secret read by this name.
    face_grant_key_name: str = Field(default="face-grant-key", min_length=1)
    face_grant_ttl_seconds: int = Field(default=300, ge=30, le=900)
    face_max_failures: int = Field(default=5, ge=1, le=20)
    face_failure_window_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Who is told when a claim locks after failed face checks, per court ("*" for any court):
    # the case officers' phone numbers or e-mail addresses, e.g. {"粤0604": ["13800000001"]}.
    face_lock_contacts: dict[str, list[str]] = Field(default_factory=dict)
    # The claim page's face checks per claim code per rate window (``rate_window_seconds``),
    # whatever their outcome: a valid code cannot be used to flood the verifier.
    face_checks_per_code_per_window: int = Field(default=6, ge=1, le=1000)
    # How long a selfie sent to human review is kept at most, undecided (deleted on decision).
    face_review_retention_hours: int = Field(default=24, ge=1, le=7 * 24)

    @model_validator(mode="after")
    def _real_face_check_in_the_local_stage(self) -> Settings:
        # The local stack points AWS clients at moto, whose CompareFaces answers a canned match
        # whatever the faces: it must never be what lets a creditor through.
        if self.stage == "local" and self.face_verifier == "rekognition":
            raise ValueError("face_verifier=rekognition is refused in the local stage")
        # Only Rekognition runs Face Liveness sessions; the offline verifier checks no liveness.
        if self.face_liveness and self.face_verifier != "rekognition":
            raise ValueError("face_liveness needs face_verifier=rekognition")
        return self

    # Money one person may not move alone: counter cash (现场交款补录) is entered by one person
    # and confirmed by another; these bound what may be entered at all.
    counter_cash_ceiling_fen: int = Field(default=50_000_000, gt=0, le=10**12)  # 500,000.00
    counter_cash_max_age_days: int = Field(default=30, ge=1, le=366)

    # Ledger: each system account is split into this many shards (the shard chosen from the
    # transfer id), so postings to different cases do not queue on one system account.
    ledger_system_shards: int = Field(default=8, ge=1, le=64)
    # How many times a posting that met a concurrent one is tried before 503: enough for the
    # postings that land on one shard at a busy moment to pass one by one. Between tries it
    # waits with jittered backoff, and stops early rather than wait into the last two seconds
    # of its Lambda invocation (chalicelib/retry.py).
    ledger_posting_attempts: int = Field(default=32, ge=1, le=100)

    # Approvals: the chains per court (APPROVAL_CHAINS, the JSON of a ChainBook, checked when
    # the approval service is built; unset, the default chains), and after how many working
    # days a waiting step shows as overdue
    approval_chains: dict[str, Any] | None = None
    approval_overdue_working_days: int = Field(default=2, ge=1, le=30)

    # Refunds: the court whose staff decide refunds of unidentified funds (they have no case to
    # name one) and answer for their claim clock; unset, unclaimed funds are published but not
    # drafted as refunds. (When they are drafted is the deadlines' claim limit and published
    # period, LIMITS.)
    unidentified_funds_court: str | None = Field(default=None, min_length=1, max_length=40)

    # Working-day calendar and statutory time limits (执行款 time limits)
    calendar_refresh_seconds: int = Field(default=300, ge=0, le=86_400)
    calendar_alarm_horizon_days: int = Field(default=90, ge=0, le=366)
    limits: CourtLimits = Field(default_factory=CourtLimits)
    # Per court, as JSON: {"粤0604": {"disbursement": 10}}; what a court leaves out is the default.
    limits_by_court: dict[str, CourtLimitOverride] = Field(default_factory=dict)
    # Who holds each post of the approval chains, for escalating overdue items (督办): per court
    # ("*" for any court without its own), the post's title as the chain names it, to phone
    # numbers or e-mail addresses, e.g.
    # {"粤0604": {"执行局长 bureau chief": ["13800000001"], "分管院领导 court leader": ["l@c.cn"]}}
    escalation_contacts: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    # Central monitoring (集中监管): the courts this deployment serves, as JSON (["粤0604", ...])
    monitored_courts: list[str] = Field(default_factory=list, max_length=500)

    def limits_for(self, court: str) -> CourtLimits:
        """The time limits a court works to: its own where it set them, the default otherwise."""
        override = self.limits_by_court.get(court)
        if override is None:
            return self.limits
        return self.limits.model_copy(update=override.model_dump(exclude_none=True))

    # Audit: the write-once digest bucket and the digest signing key (infra/audit.py)
    audit_bucket: str | None = Field(default=None, min_length=3, max_length=63)
    digest_kms_key_id: str | None = None  # a KMS key (ECC_NIST_P256, SIGN_VERIFY) or its alias
    digest_key_file: str | None = None  # the local stack's P-256 key; refused in other stages
    digest_retention_days: int = Field(default=3650, ge=1, le=36_500)
    # the Lambda a daily ledger check goes on in when one invocation is not enough (deployed
    # stages); unset, the whole check runs in one process (the local stack)
    ledger_check_function: str | None = None

    # Exports: the bucket of export files, where jobs run, when a download link expires
    exports_bucket: str | None = Field(default=None, min_length=3, max_length=63)
    export_runner: str = Field(default="thread", pattern=r"^(thread|lambda)$")
    export_function: str | None = None  # the export Lambda's name, when export_runner=lambda
    export_direct_rows: int = Field(default=2000, ge=0, le=100_000)
    export_link_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _local_key_only_locally(self) -> Settings:
        if self.digest_key_file and self.stage not in ("local", "test"):
            raise ValueError(
                "digest_key_file is for the local stack; deployed stages sign with KMS"
            )
        return self

    # Abuse and bad input at the edge (the limits a hostile client meets)
    max_json_depth: int = Field(default=32, ge=4, le=256)
    max_token_age_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Anonymous calls per client per window: looking up a case, starting a payment, and the claim
    # page's face check.
    public_lookups_per_window: int = Field(default=30, ge=1, le=100_000)
    public_payments_per_window: int = Field(default=10, ge=1, le=100_000)
    public_face_checks_per_window: int = Field(default=10, ge=1, le=100_000)
    rate_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limits_on: bool = True
    # A payer may pay more than what remains (a surplus, refunded on application), but one
    # payment is at most this multiple of what remains.
    max_payment_multiple: int = Field(default=2, ge=1, le=100)


def load() -> Settings:
    """Read and validate the settings; raises ``pydantic.ValidationError`` naming what is wrong."""
    return Settings()  # pydantic-settings fills the fields from the environment
