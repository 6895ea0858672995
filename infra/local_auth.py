"""Sign-in for the local stack and the tests: a local RSA key that signs staff tokens.

This module is deliberately outside ``chalicelib``: it is never packaged into the Lambda, so no
deployed stage can mint tokens. The app verifies local tokens against the JWKS file written here
(``AUTH_JWKS_FILE``), which ``chalicelib.identity`` accepts only in the ``local`` stage.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LOCAL_ISSUER = "https://auth.court-funds.local"
LOCAL_AUDIENCE = "court-funds-local"


@dataclass
class LocalSigner:
    """An RSA key pair; signs tokens shaped like Cognito ID tokens."""

    private_key: rsa.RSAPrivateKey
    key_id: str
    issuer: str = LOCAL_ISSUER
    audience: str = LOCAL_AUDIENCE

    @classmethod
    def generate(cls) -> LocalSigner:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(private_key=key, key_id=uuid.uuid4().hex[:16])

    @classmethod
    def load_or_create(cls, folder: Path) -> LocalSigner:
        """Keep one key per checkout so tokens printed by ``make run`` survive a restart."""
        folder.mkdir(parents=True, exist_ok=True)
        pem_path, kid_path = folder / "signing-key.pem", folder / "signing-key.kid"
        if pem_path.exists() and kid_path.exists():
            key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise TypeError(f"{pem_path} does not hold an RSA private key")
            return cls(private_key=key, key_id=kid_path.read_text().strip())
        signer = cls.generate()
        pem_path.write_bytes(
            signer.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pem_path.chmod(0o600)
        kid_path.write_text(signer.key_id)
        return signer

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        public.update({"kid": self.key_id, "alg": "RS256", "use": "sig"})
        return {"keys": [public]}

    def write_jwks(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.jwks()))
        return path

    def token(
        self,
        *roles: str,
        subject: str = "staff-1",
        name: str = "Staff One",
        courts: Iterable[str] = (),
        oversees: Iterable[str] = (),
        lifetime_seconds: int = 12 * 3600,
        issued_at: float | None = None,
        **claims: Any,
    ) -> str:
        now = int(issued_at if issued_at is not None else time.time())
        payload: dict[str, Any] = {
            "sub": subject,
            "name": name,
            "cognito:groups": list(roles),
            # Cognito custom attributes are strings: the courts travel comma-separated.
            "custom:courts": ",".join(courts),
            "token_use": "id",
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + lifetime_seconds,
        }
        if oversees:
            payload["custom:oversees"] = ",".join(oversees)
        payload.update(claims)
        return jwt.encode(
            payload, self.private_key, algorithm="RS256", headers={"kid": self.key_id}
        )
