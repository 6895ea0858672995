"""The exports' errors: one base, ``ExportError``, and a subclass per case a caller handles."""

from __future__ import annotations

from chalicelib.problems import NotFound, ProblemError, ServiceUnavailable, ValidationFailed


class ExportError(ProblemError):
    slug = "exports/error"
    title = "Export error"


class InvalidExport(ExportError, ValidationFailed):
    """A period, account or format the export cannot serve."""

    slug = "exports/invalid-request"
    title = "The export request is not valid"


class ExportNotFound(ExportError, NotFound):
    slug = "exports/not-found"
    title = "No such export"


class ExportsUnavailable(ExportError, ServiceUnavailable):
    slug = "exports/unavailable"
    title = "The export bucket is not configured"
