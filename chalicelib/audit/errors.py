"""The audit's errors: one base, ``AuditError``, and a subclass per case a caller handles."""

from __future__ import annotations

from chalicelib.problems import NotFound, ProblemError, ServiceUnavailable, ValidationFailed


class AuditError(ProblemError):
    """Base of every audit error."""

    area = "audit"  # each error's problem type is audit/ and its own name
    slug = "audit/error"
    title = "Audit error"


class InvalidAuditQuery(AuditError, ValidationFailed):
    """A court, cursor or window the audit cannot serve."""

    slug = "audit/invalid-query"
    title = "The audit query is not valid"


class DigestNotFound(AuditError, NotFound):
    title = "No such ledger digest"


class DigestInvalid(AuditError):
    """A published digest fails its signature or its chain: the anchor itself was touched."""

    title = "A published ledger digest does not verify"


class AnchorUnavailable(AuditError, ServiceUnavailable):
    """The digest bucket or signing key is not configured or cannot be reached."""

    title = "The digest store or signing key is unavailable"
