"""Every staff route needs a valid token from the configured issuer."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.identity import NotSignedIn, Role, TokenSettings, TokenVerifier
from infra.local_auth import LocalSigner


def test_valid_token_gives_the_principal_and_roles(signer: LocalSigner, aws: Any) -> None:
    from chalicelib.wiring import token_verifier

    principal = token_verifier().verify("Bearer " + signer.token("clerk", "approver", "janitor"))
    assert principal.roles == {Role.CLERK, Role.APPROVER}
    assert principal.subject == "staff-1"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "Authorization"),
        ("Basic abc", "Bearer"),
        ("Bearer not-a-jwt", "not a JWT"),
    ],
)
def test_missing_or_malformed_header_is_refused(aws: Any, header: str | None, reason: str) -> None:
    from chalicelib.wiring import token_verifier

    with pytest.raises(NotSignedIn, match=reason):
        token_verifier().verify(header)


def test_expired_token_is_refused(signer: LocalSigner, aws: Any) -> None:
    from chalicelib.wiring import token_verifier

    old = signer.token("clerk", issued_at=time.time() - 7200, lifetime_seconds=600)
    with pytest.raises(NotSignedIn, match="expired"):
        token_verifier().verify("Bearer " + old)


def test_token_from_another_key_or_issuer_is_refused(signer: LocalSigner, aws: Any) -> None:
    from chalicelib.wiring import token_verifier

    stranger = LocalSigner.generate()
    stranger.key_id = signer.key_id  # same key id, different key: the signature must fail
    with pytest.raises(NotSignedIn, match="not valid"):
        token_verifier().verify("Bearer " + stranger.token("admin"))
    wrong_issuer = LocalSigner(signer.private_key, signer.key_id, issuer="https://elsewhere")
    with pytest.raises(NotSignedIn, match="not valid"):
        token_verifier().verify("Bearer " + wrong_issuer.token("admin"))
    access_token = signer.token("admin", token_use="access")
    with pytest.raises(NotSignedIn, match="ID token"):
        token_verifier().verify("Bearer " + access_token)


def test_local_key_file_is_refused_outside_the_local_stage(tmp_path: Any) -> None:
    for stage in ("dev", "prod"):
        with pytest.raises(RuntimeError, match="only in the local stage"):
            TokenSettings(stage=stage, issuer="i", audience="a", jwks_file=str(tmp_path / "k"))
    with pytest.raises(RuntimeError, match="https"):
        TokenSettings(stage="prod", issuer="i", audience="a", jwks_url="http://plain/jwks.json")
    settings = TokenSettings(
        stage="prod", issuer="i", audience="a", jwks_url="https://cognito.example/jwks.json"
    )
    assert TokenVerifier(settings) is not None


def test_tokens_are_verified_against_a_jwks_fetched_by_url(signer: LocalSigner) -> None:
    """The dev/prod path: the key set comes from the issuer's JWKS URL (served here locally)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    body = json.dumps(signer.jwks()).encode()
    fetched: list[str] = []

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/pool/.well-known/jwks.json"
        verifier = TokenVerifier(
            TokenSettings(
                stage="local", issuer=signer.issuer, audience=signer.audience, jwks_url=url
            )
        )
        principal = verifier.verify("Bearer " + signer.token("finance", subject="f-9"))
        assert principal.subject == "f-9"
        assert principal.roles == {Role.FINANCE}
        assert fetched == ["/pool/.well-known/jwks.json"]
        stranger = LocalSigner.generate()
        with pytest.raises(NotSignedIn, match="signing key"):
            verifier.verify("Bearer " + stranger.token("finance"))
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_a_time_claim_that_is_not_a_number_is_refused(
    signer: LocalSigner, aws: Any, claim: str
) -> None:
    from chalicelib.wiring import token_verifier

    now = int(time.time())
    as_text = {"exp": str(now + 600), "iat": str(now), "nbf": str(now)}[claim]
    with pytest.raises(NotSignedIn, match="not"):
        token_verifier().verify("Bearer " + signer.token("clerk", **{claim: as_text}))


def test_a_token_issued_long_ago_is_refused_even_if_it_never_expires(
    signer: LocalSigner, aws: Any
) -> None:
    from chalicelib.wiring import token_verifier

    century = 100 * 365 * 24 * 3600
    ancient = signer.token("clerk", issued_at=time.time() - century, lifetime_seconds=2 * century)
    with pytest.raises(NotSignedIn, match="too long ago"):
        token_verifier().verify("Bearer " + ancient)
    day_old = signer.token("clerk", issued_at=time.time() - 25 * 3600, lifetime_seconds=48 * 3600)
    with pytest.raises(NotSignedIn, match="too long ago"):
        token_verifier().verify("Bearer " + day_old)
