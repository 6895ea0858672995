"""Export fixtures: the audit's ledger history and digest, an export bucket, and a service
whose background jobs run in a thread that tests can wait for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.audit.publisher import DigestPublisher
from chalicelib.exports.models import ExportJob
from chalicelib.exports.service import ExportService, ThreadRunner
from chalicelib.settings import load
from chalicelib.wiring import export_service
from infra.audit import create_exports_bucket
from tests.audit.conftest import accounts_held, anchored, history, kms_key, ledger  # noqa: F401
from tests.conftest import START

EXPORTS_BUCKET = "courtfunds-test-exports"
PERIOD = {"start": START - timedelta(days=1), "end": START + timedelta(days=1)}


@pytest.fixture
def exports(
    anchored: DigestPublisher,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ExportService]:
    anchored.publish()
    create_exports_bucket(wiring.s3(), EXPORTS_BUCKET)
    monkeypatch.setenv("EXPORTS_BUCKET", EXPORTS_BUCKET)
    wiring.override(settings=load())
    service = export_service()
    yield service
    wait_for_jobs(service)


def wait_for_jobs(service: ExportService) -> None:
    runner = service.runner
    assert isinstance(runner, ThreadRunner)
    runner.wait()


def download(service: ExportService, job: ExportJob, folder: Path) -> Path:
    """Fetch a finished job's files and manifest as an auditor's download would."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in service.links(job):
        key = f"exports/{job.id}/{name}"
        body = service.s3.get_object(Bucket=service.bucket, Key=key)["Body"].read()
        (folder / name).write_bytes(body)
    (folder / "public_key.pem").write_text(service.digests.public_key_pem())
    latest = service.digests.latest()
    if latest is not None:
        (folder / "digest.json").write_bytes(latest.document())
    return folder


def period(**changes: Any) -> dict[str, datetime]:
    return {**PERIOD, **changes}
