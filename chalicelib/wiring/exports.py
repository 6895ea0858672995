"""Builds the exports: journals and statements for finance and auditors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.wiring.audit import digest_publisher
from chalicelib.wiring.ledger import ledger_service
from chalicelib.wiring.shared import cached, clock, s3, settings

if TYPE_CHECKING:
    from chalicelib.exports.service import ExportService


def export_service() -> ExportService:
    """Exports: the export bucket, the ledger, the digest key, and where queued jobs run (the
    export Lambda, invoked asynchronously; a thread of this process in the local stack)."""

    def build() -> ExportService:
        import boto3

        from chalicelib.exports import ExportsUnavailable
        from chalicelib.exports.service import (
            ExportRunner,
            ExportService,
            LambdaRunner,
            ThreadRunner,
        )
        from chalicelib.ledger.listing import LedgerListing

        config = settings()
        if config.exports_bucket is None:
            raise ExportsUnavailable("this stage has no export bucket configured (EXPORTS_BUCKET)")
        runner: ExportRunner
        if config.export_runner == "lambda" and config.export_function:
            runner = LambdaRunner(boto3.client("lambda"), config.export_function)
        else:
            runner = ThreadRunner(lambda job_id: export_service().run(job_id))
        ledger = ledger_service()
        return ExportService(
            ledger,
            LedgerListing(ledger.store),
            s3(),
            config.exports_bucket,
            clock(),
            digests=digest_publisher(),
            runner=runner,
            direct_rows=config.export_direct_rows,
            link_seconds=config.export_link_seconds,
        )

    return cached("export_service", build)
