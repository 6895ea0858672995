"""Signing a digest with an asymmetric key, so anyone holding the public key can check it.

Deployed stages sign with a KMS key (ECC_NIST_P256, ECDSA_SHA_256): the private key never
leaves KMS. The local stack signs with a P-256 key kept in a file under ``.local/``. Both give
DER-encoded ECDSA signatures that ``verify_signature`` checks offline with ``cryptography``.
"""

from __future__ import annotations

from typing import Any, Protocol

ALGORITHM = "ECDSA_SHA_256"


class DigestSigner(Protocol):
    key_id: str

    def sign(self, message: bytes) -> bytes: ...

    def public_key_pem(self) -> str: ...


class KmsSigner:
    """Signs with an asymmetric KMS key; the public key is read once from KMS."""

    def __init__(self, client: Any, key_id: str) -> None:
        self.client = client
        self.key_id = key_id
        self._public: str | None = None

    def sign(self, message: bytes) -> bytes:
        answer = self.client.sign(
            KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm=ALGORITHM
        )
        return bytes(answer["Signature"])

    def public_key_pem(self) -> str:
        if self._public is None:
            from cryptography.hazmat.primitives import serialization

            der = self.client.get_public_key(KeyId=self.key_id)["PublicKey"]
            key = serialization.load_der_public_key(bytes(der))
            self._public = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()
        return self._public


class LocalKeySigner:
    """Signs with a P-256 private key from a PEM file, created on first use (local stack)."""

    def __init__(self, path: str) -> None:
        from pathlib import Path

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        file = Path(path)
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            fresh = ec.generate_private_key(ec.SECP256R1())
            file.write_bytes(
                fresh.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            file.chmod(0o600)
        key = serialization.load_pem_private_key(file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} does not hold an elliptic-curve private key")
        self._key = key
        self.key_id = f"local:{file.name}"

    def sign(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self._key.sign(message, ec.ECDSA(hashes.SHA256()))

    def public_key_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def verify_signature(public_key_pem: str, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid ECDSA P-256 / SHA-256 signature of ``message``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
