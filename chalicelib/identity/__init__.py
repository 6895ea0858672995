"""Who is asking: staff sign-in (JWT bearer tokens with roles)."""

from __future__ import annotations

from chalicelib.identity.errors import IdentityError, NotSignedIn, RoleNotAllowed
from chalicelib.identity.roles import ALL_STAFF, READERS, Principal, Role
from chalicelib.identity.tokens import TokenSettings, TokenVerifier

__all__ = [
    "ALL_STAFF",
    "READERS",
    "IdentityError",
    "NotSignedIn",
    "Principal",
    "Role",
    "RoleNotAllowed",
    "TokenSettings",
    "TokenVerifier",
]
