"""Who is asking: staff sign-in (JWT bearer tokens with roles)."""

from __future__ import annotations

from chalicelib import wiring
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
    "token_verifier",
]


def token_verifier() -> TokenVerifier:
    def build() -> TokenVerifier:
        return TokenVerifier(
            TokenSettings(
                stage=wiring.stage(),
                issuer=wiring.setting("AUTH_ISSUER"),
                audience=wiring.setting("AUTH_AUDIENCE"),
                jwks_url=wiring.setting("AUTH_JWKS_URL", "") or None,
                jwks_file=wiring.setting("AUTH_JWKS_FILE", "") or None,
            )
        )

    return wiring.cached("token_verifier", build)
