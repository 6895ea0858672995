"""Who is asking: staff sign-in (JWT bearer tokens with roles), and the creditor's face check
(reference photos, the face verifier, grants); the composition root builds its services."""

from __future__ import annotations

from chalicelib.identity.errors import CourtNotYours, IdentityError, NotSignedIn, RoleNotAllowed
from chalicelib.identity.roles import ALL_STAFF, READERS, Principal, Role
from chalicelib.identity.tokens import TokenSettings, TokenVerifier

__all__ = [
    "ALL_STAFF",
    "READERS",
    "CourtNotYours",
    "IdentityError",
    "NotSignedIn",
    "Principal",
    "Role",
    "RoleNotAllowed",
    "TokenSettings",
    "TokenVerifier",
]
