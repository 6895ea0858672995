"""Bearer token (JWT) verification.

In ``dev`` and ``prod`` tokens come from an Amazon Cognito user pool: RS256, verified against the
pool's JWKS fetched by URL, with the pool as issuer and the app client as audience. In ``local``
the local stack signs tokens with a key of its own and the app reads the public half from a JWKS
file; that file source is refused in every other stage, and the signing code lives only in the
local stack (``infra/``), never in the deployed package.

Roles are Cognito groups (the ``cognito:groups`` claim). Courts are the custom attributes
``custom:courts`` (the courts a person belongs to and acts in) and ``custom:oversees`` (courts or
areas a higher court looks over, read-only), each a comma-separated list of court codes, as
Cognito custom attributes are strings; the local stack signs them the same way.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from chalicelib.identity.errors import NotSignedIn
from chalicelib.identity.roles import Principal, Role

LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class TokenSettings:
    stage: str
    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    # A token issued longer ago than this is refused whatever its ``exp`` says.
    max_age_seconds: int = 24 * 3600

    def __post_init__(self) -> None:
        if self.jwks_file and self.stage != "local":
            raise RuntimeError("a JWKS file is accepted only in the local stage")
        if not self.jwks_file and not self.jwks_url:
            raise RuntimeError("set AUTH_JWKS_URL (or AUTH_JWKS_FILE in the local stage)")
        if self.jwks_url and self.stage != "local" and not self.jwks_url.startswith("https://"):
            raise RuntimeError("AUTH_JWKS_URL must be https outside the local stage")


class TokenVerifier:
    """Turns an ``Authorization`` header into a ``Principal`` or raises ``NotSignedIn``."""

    def __init__(self, settings: TokenSettings) -> None:
        # PyJWT pulls in cryptography; importing it when a verifier is built, not at module
        # import, keeps the cold start of routes that check no token (pages, webhooks) short.
        import jwt

        self._settings = settings
        self._jwk_client = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=3600)
            if settings.jwks_url and not settings.jwks_file
            else None
        )
        self._file_keys: dict[str, Any] | None = None

    def _key_for(self, token: str) -> Any:
        import jwt

        if self._jwk_client is not None:
            try:
                return self._jwk_client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as error:
                raise NotSignedIn("the token's signing key is not known") from error
        if self._file_keys is None:
            assert self._settings.jwks_file is not None  # noqa: S101 - guarded by TokenSettings
            with open(self._settings.jwks_file, encoding="utf-8") as handle:
                keyset = jwt.PyJWKSet.from_dict(json.load(handle))
            self._file_keys = {str(key.key_id): key.key for key in keyset.keys}
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as error:
            raise NotSignedIn("the bearer token is not a JWT") from error
        if kid not in self._file_keys:
            raise NotSignedIn("the token's signing key is not known")
        return self._file_keys[kid]

    def verify(self, authorization: str | None) -> Principal:
        import jwt

        if not authorization:
            raise NotSignedIn("send an Authorization: Bearer <token> header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedIn("the Authorization header must be 'Bearer <token>'")
        token = token.strip()
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                issuer=self._settings.issuer,
                audience=self._settings.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise NotSignedIn("the token has expired; sign in again") from error
        except jwt.InvalidTokenError as error:
            raise NotSignedIn(f"the token is not valid: {error}") from error
        if claims.get("token_use", "id") != "id":
            raise NotSignedIn("send an ID token")
        # PyJWT reads ``"exp": "99999999999"`` as a number; the JWT spec says a NumericDate.
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise NotSignedIn(f"the token's {name} claim is not a number")
        now = time.time()
        if claims["iat"] > now + LEEWAY_SECONDS:
            raise NotSignedIn("the token is issued in the future")
        if claims["iat"] < now - self._settings.max_age_seconds - LEEWAY_SECONDS:
            raise NotSignedIn("the token was issued too long ago; sign in again")
        groups = claims.get("cognito:groups") or []
        if not isinstance(groups, list):
            raise NotSignedIn("the token's groups claim is malformed")
        roles = frozenset(Role(g) for g in groups if g in Role.__members__.values())
        name = str(claims.get("name") or claims.get("cognito:username") or claims["sub"])
        return Principal(
            subject=str(claims["sub"]),
            name=name,
            roles=roles,
            courts=_court_list(claims, "custom:courts"),
            oversees=_court_list(claims, "custom:oversees"),
        )


def _court_list(claims: dict[str, Any], name: str) -> frozenset[str]:
    """A comma-separated court claim as a set of codes, normalised as court codes are
    (NFKC: full-width letters and digits), so ``粤０６０４`` is ``粤0604``."""
    value = claims.get(name) or ""
    if not isinstance(value, str):
        raise NotSignedIn(f"the token's {name} claim is malformed")
    codes = (unicodedata.normalize("NFKC", part).strip() for part in value.split(","))
    return frozenset(code for code in codes if code)
