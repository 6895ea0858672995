"""Exports for auditors and finance: journal, statements and trial balance as CSV, XLSX or
JSON Lines, each with a signed manifest an auditor checks offline (``courtfunds``).

Other packages use the names exported here; ``chalicelib.wiring`` builds the service
(``exports.service``) when a route first needs it.
"""

from __future__ import annotations

from chalicelib.exports.errors import ExportError, ExportNotFound, ExportsUnavailable, InvalidExport
from chalicelib.exports.models import ExportJob, JobStatus, Manifest, SignedManifest
from chalicelib.exports.requests import ExportFormat, ExportKind, ExportRequest

__all__ = [
    "ExportError",
    "ExportFormat",
    "ExportJob",
    "ExportKind",
    "ExportNotFound",
    "ExportRequest",
    "ExportsUnavailable",
    "InvalidExport",
    "JobStatus",
    "Manifest",
    "SignedManifest",
]
