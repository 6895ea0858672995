"""Shared fixtures: an offline environment, moto-backed tables, a fixed clock, signed tokens.

Everything runs with fake AWS credentials and no network; moto serves DynamoDB in-process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

# Set before anything imports boto3, so no test can reach a real account.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "STAGE": "local",
        "CASES_TABLE": "courtfunds-test-cases",
        "PAYOUTS_TABLE": "courtfunds-test-payouts",
        "LEDGER_TABLE": "courtfunds-test-ledger",
        "COLLECTION_TABLE": "courtfunds-test-collection",
        "IDENTITY_TABLE": "courtfunds-test-identity",
        "REFERENCE_PHOTOS_BUCKET": "courtfunds-test-reference-photos",
        "APPROVALS_TABLE": "courtfunds-test-approvals",
        "REFUNDS_TABLE": "courtfunds-test-refunds",
        "OVERSIGHT_TABLE": "courtfunds-test-oversight",
        # Every test client calls from one address; the tests of the limits switch them on.
        "RATE_LIMITS_ON": "false",
    }
)

from hypothesis import settings  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import wiring  # noqa: E402
from chalicelib.clock import FixedClock  # noqa: E402
from chalicelib.courts import PROVINCES  # noqa: E402
from infra.local_auth import LocalSigner  # noqa: E402
from infra.tables import create_tables, table_names  # noqa: E402

# CI explores the same examples on every run, so a landing never depends on a lucky draw;
# runs on a developer's machine keep drawing new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
COURT = "粤0604"  # the court of the filings in tests/cases/factories.py
# ``oversees`` of a national oversight: what spans every court (the whole-ledger check, the
# journal, the trial balance) needs every province.
NATIONWIDE = tuple(PROVINCES)


@pytest.fixture(scope="session")
def signer(tmp_path_factory: pytest.TempPathFactory) -> LocalSigner:
    """A local signing key; the app verifies tokens against its JWKS file."""
    key = LocalSigner.generate()
    jwks = key.write_jwks(tmp_path_factory.mktemp("auth") / "jwks.json")
    os.environ.update(
        {
            "AUTH_ISSUER": key.issuer,
            "AUTH_AUDIENCE": key.audience,
            "AUTH_JWKS_FILE": str(jwks),
        }
    )
    return key


def write_secrets(folder: Path, values: dict[str, str]) -> Path:
    """Secrets as the local stack keeps them: one file per name, read by ``chalicelib.secrets``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        (folder / name).write_text(value, encoding="utf-8")
    return folder


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def aws(signer: LocalSigner, clock: FixedClock) -> Iterator[Any]:
    """Moto-backed DynamoDB with every table created from infra/tables.py; yields the client."""
    with mock_aws():
        wiring.reset()
        wiring.override(clock=clock)
        client = wiring.dynamodb()
        create_tables(client, table_names("test"))
        yield client
        wiring.reset()


@pytest.fixture
def api(aws: Any) -> Iterator[Any]:
    """The Chalice app behind chalice.test.Client, on moto."""
    from chalice.test import Client

    from app import app

    # A stage that is not in config.json: the client then keeps the test environment above.
    with Client(app, stage_name="test", project_dir=str(PROJECT_ROOT)) as client:
        yield client.http


@pytest.fixture
def token(signer: LocalSigner) -> Any:
    """``token("clerk")`` -> headers with a bearer token for that role, at court 粤0604;
    ``courts=[...]`` and ``oversees=[...]`` place the person elsewhere."""

    def make(
        *roles: str,
        subject: str | None = None,
        courts: tuple[str, ...] | list[str] = (COURT,),
        **claims: Any,
    ) -> dict[str, str]:
        who = subject or f"{'-'.join(roles) or 'nobody'}-1"
        claims.setdefault("name", who)
        value = signer.token(*roles, subject=who, courts=courts, **claims)
        return {"Authorization": f"Bearer {value}", "Content-Type": "application/json"}

    return make
