"""The product's settings: one validated object, read from the environment once per process.

Every limit, ceiling and switch the services read lives here, so that a stage's configuration
is checked at cold start and a wrong value is a clear error naming the setting, not a surprise
in the middle of a request. Capabilities add their fields in their own section below.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What a deployed stage (``.chalice/config.json``), the local stack or a test sets."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    # Deployment
    stage: str = Field(default="local", pattern=r"^[a-z][a-z0-9-]{0,30}$")

    # Tables (names come from infra/tables.py; config.json sets them per stage)
    cases_table: str = Field(min_length=3)
    ledger_table: str = Field(min_length=3)
    collection_table: str = Field(min_length=3)

    # Sign-in
    auth_issuer: str = Field(min_length=1)
    auth_audience: str = Field(min_length=1)
    auth_jwks_url: str | None = None
    auth_jwks_file: str | None = None

    # Notifications
    notify_by: str = Field(default="outbox", pattern=r"^(outbox|sms)$")
    sms_sender_id: str | None = None
    notify_outbox_dir: str = ".local/outbox"

    # Collection
    receipt_font: str | None = None


def load() -> Settings:
    """Read and validate the settings; raises ``pydantic.ValidationError`` naming what is wrong."""
    return Settings()  # pydantic-settings fills the fields from the environment
