"""The errors a client can see: each carries an RFC 9457 problem type, status and title.

Every package derives its own error base from ``ProblemError`` (or one of the generic kinds
below), and ``chalicelib.http`` is the one place that turns them into HTTP answers. A package
base that names its ``area`` lets each of its errors take its problem type from its own name:
``InsufficientFunds`` under the ledger's area is ``ledger/insufficient-funds``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_BASE = "https://court-funds.example/problems/"


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: a JSON pointer into the request body and what is wrong with it."""

    pointer: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.detail}


class ProblemError(Exception):
    """Base of every error that reaches a client."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    area: ClassVar[str | None] = None  # where a package's problem types are named

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.area is not None and "slug" not in cls.__dict__:
            cls.slug = f"{cls.area}/{_spelled_out(cls.__name__)}"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def as_problem(self, *, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extensions)
        return body


def _spelled_out(name: str) -> str:
    """A class name as a problem type: ``InsufficientFunds`` as ``insufficient-funds``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class BadRequest(ProblemError):
    status = 400
    slug = "bad-request"
    title = "The request is malformed"


class ValidationFailed(ProblemError):
    status = 422
    slug = "validation-failed"
    title = "The request has invalid fields"


class Unauthenticated(ProblemError):
    status = 401
    slug = "unauthenticated"
    title = "Sign-in required"


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this role"


class NotFound(ProblemError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflicts with the current state"


class Locked(ProblemError):
    status = 423
    slug = "locked"
    title = "Locked until someone unlocks it"


class PayloadTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"
    title = "The request body is too large"


class UnsupportedMediaType(ProblemError):
    status = 415
    slug = "unsupported-media-type"
    title = "The request body must be JSON"


class ServiceUnavailable(ProblemError):
    status = 503
    slug = "service-unavailable"
    title = "Temporarily unavailable, try again"
