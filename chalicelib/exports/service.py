"""Exports for auditors and finance: request, run (in the background or at once), follow.

A job's record and its files live together under ``exports/<id>/`` in the export bucket; the
record is rewritten as rows are written, so a client can follow the progress. Files stream to
S3 in multipart parts and their manifest is signed with the ledger's digest key; downloads are
presigned links that expire.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Protocol, cast

from chalicelib.audit import InclusionProof, SignedDigest
from chalicelib.audit.digest import sha256_hex
from chalicelib.audit.publisher import DigestPublisher
from chalicelib.clock import Clock
from chalicelib.exports.errors import ExportError, ExportNotFound
from chalicelib.exports.manifest import ManifestTally, sign_manifest
from chalicelib.exports.models import (
    DigestAnchor,
    DigestReference,
    ExportFile,
    ExportJob,
    JobStatus,
)
from chalicelib.exports.requests import ExportKind, ExportRequest
from chalicelib.exports.rows import (
    ENTRY_COLUMNS,
    JOURNAL_COLUMNS,
    TRIAL_BALANCE_COLUMNS,
    Row,
    journal_rows,
    statement_rows,
    trial_balance_rows,
)
from chalicelib.exports.sink import MultipartSink
from chalicelib.exports.writers import CONTENT_TYPES, row_writer
from chalicelib.ledger.listing import LedgerListing
from chalicelib.ledger.service import LedgerService

log = logging.getLogger(__name__)

PROGRESS_EVERY = 5000  # rows between two progress records


class ExportRunner(Protocol):
    """Runs a queued export somewhere else than the request: a Lambda invoked asynchronously
    in deployed stages, a thread in the local stack and the tests."""

    def start(self, job_id: str) -> None: ...


def job_key(job_id: str) -> str:
    return f"exports/{job_id}/job.json"


class ExportService:
    def __init__(
        self,
        ledger: LedgerService,
        listing: LedgerListing,
        s3: Any,
        bucket: str,
        clock: Clock,
        *,
        digests: DigestPublisher,
        runner: ExportRunner,
        direct_rows: int,
        link_seconds: int,
    ) -> None:
        self.ledger = ledger
        self.listing = listing
        self.s3 = s3
        self.bucket = bucket
        self.clock = clock
        self.digests = digests
        self.runner = runner
        self.direct_rows = direct_rows
        self.link_seconds = link_seconds

    # -- requests ----------------------------------------------------------------------------

    def request(self, request: ExportRequest, *, requested_by: str) -> ExportJob:
        """Record the job; a statement short enough runs at once, anything else is queued."""
        expected = None
        if request.kind == ExportKind.STATEMENT and request.account is not None:
            # an unknown account is answered as not found (404), as the ledger answers it
            expected = self.ledger.balance(request.account).seq
        job = ExportJob(
            id=f"{self.clock.now():%Y%m%d}-{secrets.token_hex(8)}",
            request=request,
            requested_by=requested_by,
            requested_at=self.clock.now(),
            rows_expected=expected,
        )
        self._save(job)
        if expected is not None and expected <= self.direct_rows:
            return self.run(job.id)
        self.runner.start(job.id)
        return job

    def job(self, job_id: str) -> ExportJob:
        try:
            raw = self.s3.get_object(Bucket=self.bucket, Key=job_key(job_id))["Body"].read()
        except self.s3.exceptions.NoSuchKey as exc:
            raise ExportNotFound(f"no export {job_id}") from exc
        return ExportJob.model_validate_json(raw)

    def links(self, job: ExportJob) -> dict[str, str]:
        """Presigned download links of a finished job's files and manifest, by file name."""
        if job.status != JobStatus.DONE or job.manifest_key is None:
            return {}
        keys = {"manifest.json": job.manifest_key}
        keys |= {name: f"exports/{job.id}/{name}" for name in (self._file_name(job),)}
        return {
            name: self.s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=self.link_seconds,
            )
            for name, key in keys.items()
        }

    # -- running -----------------------------------------------------------------------------

    def run(self, job_id: str) -> ExportJob:
        """Make the export's file and manifest; the job ends done or failed, never half-way."""
        job = self.job(job_id)
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job  # an asynchronous invocation may be delivered twice
        job = job.model_copy(update={"status": JobStatus.RUNNING})
        self._save(job)
        try:
            return self._make(job)
        except ExportError as exc:
            return self._fail(job, exc.detail)
        except Exception:
            log.exception("export %s failed", job.id)
            return self._fail(job, "the export failed on our side; request it again")

    def _make(self, job: ExportJob) -> ExportJob:
        request = job.request
        columns, rows = self._source(request)
        name = self._file_name(job)
        key = f"exports/{job.id}/{name}"
        latest = self.digests.latest()
        # a statement is checked against the digest as it is written; any export's manifest
        # carries the heads and paths for an auditor to check offline
        proofs = self._proofs(latest, [request.account] if request.account else [])
        tally = ManifestTally({a: (p.leaf.seq, p.leaf.head_hash) for a, p in proofs.items()})
        sink = MultipartSink(self.s3, self.bucket, key, content_type=CONTENT_TYPES[request.format])
        try:
            # a raw write-only stream: csv, json and openpyxl's zip need nothing more of it
            stream = cast(BinaryIO, sink)
            writer = row_writer(request.format, stream, columns, title=request.kind.value)
            for row in rows:
                writer.write(row)
                tally.add(row)
                if tally.rows % PROGRESS_EVERY == 0:
                    self._save(job.model_copy(update={"rows_written": tally.rows}))
            writer.close()
            sink.finish()
        except BaseException:
            sink.abort()
            raise
        if request.kind == ExportKind.JOURNAL:
            proofs = self._proofs(latest, tally.account_ids())
        exported = ExportFile(
            key=key,
            name=name,
            content_type=CONTENT_TYPES[request.format],
            rows=tally.rows,
            size=sink.size,
            sha256=sink.sha256,
        )
        signed = sign_manifest(
            job,
            tally,
            columns=columns,
            files=[exported],
            digest=_reference(latest),
            anchors=[
                DigestAnchor(leaf=p.leaf, index=p.index, path=p.path)
                for _, p in sorted(proofs.items())
            ],
            signer=self.digests.signer,
            made_at=self.clock.now(),
        )
        manifest_key = f"exports/{job.id}/manifest.json"
        self.s3.put_object(
            Bucket=self.bucket,
            Key=manifest_key,
            Body=signed.model_dump_json().encode(),
            ContentType="application/json",
        )
        done = job.model_copy(
            update={
                "status": JobStatus.DONE,
                "rows_written": tally.rows,
                "rows_expected": tally.rows,
                "finished_at": self.clock.now(),
                "manifest_key": manifest_key,
            }
        )
        self._save(done)
        return done

    def _proofs(
        self, latest: SignedDigest | None, account_ids: list[str]
    ) -> dict[str, InclusionProof]:
        """The latest digest's heads of these accounts, with their inclusion paths."""
        if latest is None or not account_ids:
            return {}
        return self.digests.proofs(latest, account_ids)

    def _source(self, request: ExportRequest) -> tuple[list[str], Iterator[Row]]:
        if request.kind == ExportKind.JOURNAL:
            return JOURNAL_COLUMNS, journal_rows(self.listing, request.start, request.end)
        if request.kind == ExportKind.STATEMENT and request.account is not None:
            return ENTRY_COLUMNS, statement_rows(
                self.ledger, request.account, request.start, request.end
            )
        return TRIAL_BALANCE_COLUMNS, trial_balance_rows(
            self.ledger, self.listing, request.start, request.end
        )

    @staticmethod
    def _file_name(job: ExportJob) -> str:
        request = job.request
        return f"{request.kind.value}.{request.format.value}"

    def _fail(self, job: ExportJob, problem: str) -> ExportJob:
        failed = job.model_copy(
            update={"status": JobStatus.FAILED, "problem": problem, "finished_at": self.clock.now()}
        )
        self._save(failed)
        return failed

    def _save(self, job: ExportJob) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=job_key(job.id),
            Body=job.model_dump_json().encode(),
            ContentType="application/json",
        )


def _reference(latest: SignedDigest | None) -> DigestReference | None:
    if latest is None:
        return None
    return DigestReference(
        number=latest.digest.number,
        root=latest.digest.root,
        accounts=latest.digest.accounts,
        sha256=sha256_hex(latest.document()),
    )


class ThreadRunner:
    """The local stack's and the tests' runner: the job runs in a thread of this process."""

    def __init__(self, run: Callable[[str], Any]) -> None:
        import threading

        self._run = run
        self._threads: list[threading.Thread] = []

    def start(self, job_id: str) -> None:
        import threading

        thread = threading.Thread(target=self._run, args=(job_id,), name=f"export-{job_id}")
        self._threads.append(thread)
        thread.start()

    def wait(self) -> None:
        for thread in self._threads:
            thread.join()


class LambdaRunner:
    """Deployed stages: the export Lambda, invoked asynchronously (retried by Lambda)."""

    def __init__(self, client: Any, function_name: str) -> None:
        self.client = client
        self.function_name = function_name

    def start(self, job_id: str) -> None:
        import json

        self.client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps({"job_id": job_id}).encode(),
        )
