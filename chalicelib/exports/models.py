"""The exports' values: what an auditor asks for, the job that makes it, and its manifest."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from chalicelib.audit.digest import DigestLeaf
from chalicelib.exports.requests import ExportFormat, ExportKind, ExportRequest
from chalicelib.ledger.models import canonical_json


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportFile(_Frozen):
    key: str
    name: str
    content_type: str
    rows: int
    size: int
    sha256: str


class AccountRange(_Frozen):
    """The entries of one account an export holds: a contiguous run of its chain."""

    account_id: str
    first_seq: int
    last_seq: int
    first_prev_hash: str  # the hash of the entry before the first one exported
    head_hash: str  # the hash of the last entry exported
    rows: int


class CurrencyControl(_Frozen):
    """Control totals of one currency, in fen."""

    currency: str
    debits: int
    credits: int
    rows: int


class DigestReference(_Frozen):
    """The published digest the export was checked against when it was made."""

    number: int
    root: str
    accounts: int  # the digest's tree size
    sha256: str  # of the signed digest document


class DigestAnchor(_Frozen):
    """An exported account's head as the digest published it, with its inclusion path: where
    the export holds that entry, its row must carry the same hash."""

    leaf: DigestLeaf
    index: int
    path: list[str]


class Manifest(_Frozen):
    """What an export holds, signed: enough to check it offline with the public key."""

    export_id: str
    kind: ExportKind
    format: ExportFormat
    start: datetime
    end: datetime
    account: str | None
    made_at: datetime
    made_for: str  # the token subject who asked
    columns: list[str]
    rows: int
    accounts: list[AccountRange]
    controls: list[CurrencyControl]
    digest: DigestReference | None
    anchors: list[DigestAnchor]
    files: list[ExportFile]
    key_id: str
    algorithm: str

    def message(self) -> bytes:
        return canonical_json(self.model_dump(mode="json")).encode()


class SignedManifest(_Frozen):
    manifest: Manifest
    signature: str  # base64 DER ECDSA signature over ``manifest.message()``


class ExportJob(_Frozen):
    """An export's progress, kept beside its files."""

    id: str
    request: ExportRequest
    requested_by: str
    requested_at: datetime
    status: JobStatus = JobStatus.QUEUED
    rows_written: int = 0
    rows_expected: int | None = None
    finished_at: datetime | None = None
    problem: str | None = None
    manifest_key: str | None = None
