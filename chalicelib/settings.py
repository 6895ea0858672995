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

from pydantic import Field, model_validator
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


class Settings(BaseSettings):
    """What a deployed stage (``.chalice/config.json``), the local stack or a test sets."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    # Deployment
    stage: str = Field(default="local", pattern=r"^[a-z][a-z0-9-]{0,30}$")

    # Tables (names come from infra/tables.py; config.json sets them per stage)
    cases_table: str = Field(min_length=3)
    ledger_table: str = Field(min_length=3)
    collection_table: str = Field(min_length=3)

    # Secrets: where they are read from, and under which names
    secrets_from: str = Field(default="directory", pattern=r"^(directory|ssm)$")
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

    @model_validator(mode="after")
    def _real_face_check_in_the_local_stage(self) -> Settings:
        # The local stack points AWS clients at moto, whose CompareFaces answers a canned match
        # whatever the faces: it must never be what lets a creditor through.
        if self.stage == "local" and self.face_verifier == "rekognition":
            raise ValueError("face_verifier=rekognition is refused in the local stage")
        return self

    # Abuse and bad input at the edge (the limits a hostile client meets)
    max_json_depth: int = Field(default=32, ge=4, le=256)
    max_token_age_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Anonymous calls per client per window: looking up a case, and starting a payment.
    public_lookups_per_window: int = Field(default=30, ge=1, le=100_000)
    public_payments_per_window: int = Field(default=10, ge=1, le=100_000)
    rate_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limits_on: bool = True
    # A payer may pay more than what remains (a surplus, refunded on application), but one
    # payment is at most this multiple of what remains.
    max_payment_multiple: int = Field(default=2, ge=1, le=100)


def load() -> Settings:
    """Read and validate the settings; raises ``pydantic.ValidationError`` naming what is wrong."""
    return Settings()  # pydantic-settings fills the fields from the environment
