"""The daily ledger digest: every account's head under one Merkle root, chained and signed.

A digest is published as two objects in the write-once digest bucket: the leaves (one JSON line
per account, in account order) and the signed digest that names them by SHA-256, holds their
Merkle root and the SHA-256 of the digest before it. Once written, neither can be changed or
deleted until its retention ends (S3 Object Lock, compliance mode), so a head published here
outlives any later edit of the table.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from chalicelib.audit.merkle import inclusion_proof, leaf_hash, root_of, verify_inclusion
from chalicelib.audit.signing import ALGORITHM, verify_signature
from chalicelib.ledger.models import AccountState, canonical_json

DIGEST_PREFIX = "digests/"
LEAVES_PREFIX = "digest-leaves/"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DigestLeaf(_Frozen):
    """One account's head as published: its newest entry's sequence and hash, its balance."""

    account_id: str
    currency: str
    seq: int
    head_hash: str
    balance: int  # posted credits minus posted debits, fen

    @classmethod
    def of(cls, state: AccountState) -> DigestLeaf:
        return cls(
            account_id=state.account.id,
            currency=state.account.currency,
            seq=state.seq,
            head_hash=state.head_hash,
            balance=state.totals.posted,
        )

    def line(self) -> bytes:
        """The leaf's bytes: its canonical JSON, which is also its line in the leaves file."""
        return canonical_json(self.model_dump(mode="json")).encode()


class Digest(_Frozen):
    """What is signed."""

    ledger: str  # the stage whose ledger this is
    number: int  # 1 for the first digest, then one more each time
    made_at: datetime
    accounts: int
    root: str  # Merkle root over the leaves, hex
    leaves_key: str
    leaves_sha256: str
    previous_key: str | None = None
    previous_sha256: str | None = None  # SHA-256 of the previous signed digest's bytes
    key_id: str
    algorithm: str = ALGORITHM

    def message(self) -> bytes:
        return canonical_json(self.model_dump(mode="json")).encode()


class SignedDigest(_Frozen):
    digest: Digest
    signature: str  # base64 DER ECDSA signature over ``digest.message()``

    def document(self) -> bytes:
        """The bytes stored in the bucket; the next digest chains to their SHA-256."""
        return canonical_json(self.model_dump(mode="json")).encode()

    def verifies(self, public_key_pem: str) -> bool:
        return verify_signature(
            public_key_pem, self.digest.message(), base64.b64decode(self.signature)
        )


def digest_key(number: int) -> str:
    return f"{DIGEST_PREFIX}{number:010d}.json"


def leaves_key(number: int) -> str:
    return f"{LEAVES_PREFIX}{number:010d}.jsonl"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class InclusionProof(_Frozen):
    """Proof that one account's head is in a signed digest: check the digest's signature with
    the public key, then hash the leaf up the path to the digest's root."""

    digest: SignedDigest
    leaf: DigestLeaf
    index: int
    size: int
    path: list[str]  # sibling hashes, hex, lowest first

    def verifies(self, public_key_pem: str) -> bool:
        return (
            self.digest.verifies(public_key_pem)
            and self.size == self.digest.digest.accounts
            and verify_inclusion(
                self.leaf.line(),
                self.index,
                self.size,
                [bytes.fromhex(h) for h in self.path],
                bytes.fromhex(self.digest.digest.root),
            )
        )


def merkle_root(lines: list[bytes]) -> str:
    return root_of([leaf_hash(line) for line in lines]).hex()


def prove(
    signed: SignedDigest, lines: list[bytes], account_ids: list[str]
) -> dict[str, InclusionProof]:
    """The inclusion proofs of these accounts among the digest's leaf lines (an account the
    digest does not hold is left out)."""
    wanted = set(account_ids)
    hashes = [leaf_hash(line) for line in lines]
    proofs = {}
    for index, line in enumerate(lines):
        leaf = DigestLeaf.model_validate(json.loads(line))
        if leaf.account_id in wanted:
            proofs[leaf.account_id] = InclusionProof(
                digest=signed,
                leaf=leaf,
                index=index,
                size=len(lines),
                path=[h.hex() for h in inclusion_proof(hashes, index)],
            )
    return proofs
