"""Errors of sign-in and permissions."""

from __future__ import annotations

from chalicelib.problems import Forbidden, ProblemError, Unauthenticated


class IdentityError(ProblemError):
    """Base of every sign-in, permission and face-verification error."""


class NotSignedIn(IdentityError, Unauthenticated):
    slug = "identity/not-signed-in"
    title = "A valid bearer token is required"


class RoleNotAllowed(IdentityError, Forbidden):
    slug = "identity/role-not-allowed"
    title = "Your role may not do this"
