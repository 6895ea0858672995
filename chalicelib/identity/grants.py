"""Face-verification grants: the signed proof that a creditor passed the face check, bound to one
payout (disbursement and attempt, case, creditor, amount, destination), single use, short-lived.

A grant travels to the phone and back as a token; the token alone never moves money. The payout
step checks the token's signature and binding here, and marks the stored grant used in the same
transaction that records the release (``FaceChecks.grant_use``), so it is used once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from chalicelib.identity.errors import GrantRefused

VERSION = "g1"


def destination_digest(account_number: str) -> str:
    """The destination account as the grant carries it: a digest, so no account number travels
    in the token; spacing and full-width digits do not change it."""
    normalised = "".join(unicodedata.normalize("NFKC", account_number).split())
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Binding:
    """The one payout a grant may release."""

    disbursement_id: str
    attempt: int  # a reissued payout is a new attempt and needs a new face check
    case_id: str
    creditor_party_id: str
    amount_fen: int
    currency: str
    destination: str  # destination_digest() of the confirmed receiving account


@dataclass(frozen=True)
class GrantClaims:
    grant_id: str
    binding: Binding
    issued_at: datetime
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class GrantSigner:
    """HMAC-SHA256 over the grant's claims, with the secret the ``face_grant_key_name`` setting
    names (SSM Parameter Store in dev and prod, ``.local/secrets/`` in the local stack)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the face grant key needs at least 32 bytes; make it longer")
        self._key = key

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{VERSION}.{payload}".encode(), hashlib.sha256).digest())

    def sign(self, claims: GrantClaims) -> str:
        body = {
            "gid": claims.grant_id,
            **asdict(claims.binding),
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{VERSION}.{payload}.{self._mac(payload)}"

    def read(self, token: str) -> GrantClaims:
        """The claims of a token whose signature is ours; raises ``GrantRefused`` otherwise."""
        version, _, rest = token.partition(".")
        payload, _, mac = rest.partition(".")
        if version != VERSION or not payload or not mac:
            raise GrantRefused("the grant is not a face-verification grant")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise GrantRefused("the grant's signature does not verify")
        try:
            body = json.loads(_unb64(payload))
            binding = Binding(
                disbursement_id=str(body["disbursement_id"]),
                attempt=int(body["attempt"]),
                case_id=str(body["case_id"]),
                creditor_party_id=str(body["creditor_party_id"]),
                amount_fen=int(body["amount_fen"]),
                currency=str(body["currency"]),
                destination=str(body["destination"]),
            )
            return GrantClaims(
                grant_id=str(body["gid"]),
                binding=binding,
                issued_at=datetime.fromtimestamp(int(body["iat"]), UTC),
                expires_at=datetime.fromtimestamp(int(body["exp"]), UTC),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise GrantRefused("the grant is malformed") from error


def check_binding(claims: GrantClaims, binding: Binding, *, now: datetime) -> None:
    """Refuse a grant that has expired or was issued for another payout, naming what differs."""
    if now >= claims.expires_at:
        raise GrantRefused("the grant has expired; verify the face again")
    differs = [
        name
        for name, granted in asdict(claims.binding).items()
        if getattr(binding, name) != granted
    ]
    if differs:
        raise GrantRefused("the grant was issued for another payout: " + ", ".join(differs))
