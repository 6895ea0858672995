"""Publishing digests of the ledger and answering from them: the latest, a proof for one
account, and the comparison of the live chains with what was published."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from dataclasses import dataclass

from chalicelib.audit.anchor import AnchorBucket
from chalicelib.audit.digest import (
    DIGEST_PREFIX,
    Digest,
    DigestLeaf,
    InclusionProof,
    SignedDigest,
    digest_key,
    leaves_key,
    prove,
    sha256_hex,
)
from chalicelib.audit.errors import DigestInvalid, DigestNotFound
from chalicelib.audit.merkle import leaf_hash, root_of
from chalicelib.audit.models import AuditBreakKind, LedgerBreak
from chalicelib.audit.signing import DigestSigner
from chalicelib.clock import Clock
from chalicelib.ledger.listing import LedgerListing

PAGE = 500
SPOOL_BYTES = 8 * 1024 * 1024  # leaves beyond this spill from memory to a temporary file


@dataclass(frozen=True)
class DigestComparison:
    """A page of the comparison of live chains with a digest's leaves."""

    breaks: list[LedgerBreak]
    compared: int
    next_offset: int | None  # byte offset of the next leaf; None when all are compared


class DigestPublisher:
    def __init__(
        self,
        listing: LedgerListing,
        bucket: AnchorBucket,
        signer: DigestSigner,
        clock: Clock,
        *,
        ledger_name: str,
    ) -> None:
        self.listing = listing
        self.bucket = bucket
        self.signer = signer
        self.clock = clock
        self.ledger_name = ledger_name

    def public_key_pem(self) -> str:
        return self.signer.public_key_pem()

    def publish(self) -> SignedDigest:
        """Read every account's head, publish the leaves and the signed digest chained to the
        one before. The leaves stream through a spooled file and only their 32-byte hashes
        stay in memory for the root."""
        previous = self.latest()
        number = previous.digest.number + 1 if previous else 1
        hashes: list[bytes] = []
        content = hashlib.sha256()
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            position = None
            while True:
                page = self.listing.account_states(limit=PAGE, position=position)
                for state in page.states:
                    line = DigestLeaf.of(state).line()
                    hashes.append(leaf_hash(line))
                    spool.write(line + b"\n")
                    content.update(line + b"\n")
                if not page.position:
                    break
                position = page.position
            spool.seek(0)
            now = self.clock.now()
            self.bucket.put_locked(
                leaves_key(number), spool, now=now, content_type="application/jsonl"
            )
        digest = Digest(
            ledger=self.ledger_name,
            number=number,
            made_at=now,
            accounts=len(hashes),
            root=root_of(hashes).hex(),
            leaves_key=leaves_key(number),
            leaves_sha256=content.hexdigest(),
            previous_key=digest_key(previous.digest.number) if previous else None,
            previous_sha256=sha256_hex(previous.document()) if previous else None,
            key_id=self.signer.key_id,
        )
        signature = base64.b64encode(self.signer.sign(digest.message())).decode()
        signed = SignedDigest(digest=digest, signature=signature)
        self.bucket.put_locked(
            digest_key(number), signed.document(), now=now, content_type="application/json"
        )
        return signed

    def latest(self) -> SignedDigest | None:
        key = self.bucket.last_key(DIGEST_PREFIX)
        return self.read(key) if key else None

    def read(self, key: str) -> SignedDigest:
        """A published digest, refused unless its signature verifies with our public key."""
        raw = self.bucket.get(key)
        if raw is None:
            raise DigestNotFound(f"no digest is published under {key}")
        signed = SignedDigest.model_validate_json(raw)
        if not signed.verifies(self.public_key_pem()):
            raise DigestInvalid(f"the digest {key} does not verify with the ledger's public key")
        return signed

    def number(self, number: int) -> SignedDigest:
        return self.read(digest_key(number))

    def proof(self, number: int, account_id: str) -> InclusionProof:
        found = self.proofs(self.number(number), [account_id]).get(account_id)
        if found is None:
            raise DigestNotFound(f"digest {number} holds no account {account_id}")
        return found

    def proofs(self, signed: SignedDigest, account_ids: list[str]) -> dict[str, InclusionProof]:
        """The inclusion proofs of these accounts (those the digest holds), from one read of
        its leaves, which must be the ones it signed."""
        raw = self.bucket.get(signed.digest.leaves_key) or b""
        if sha256_hex(raw) != signed.digest.leaves_sha256:
            raise DigestInvalid(
                f"the leaves of digest {signed.digest.number} are not the ones it signed"
            )
        return prove(signed, raw.splitlines(), account_ids)

    def compare(
        self, signed: SignedDigest, *, offset: int, limit: int, prefix: str = ""
    ) -> DigestComparison:
        """Compare up to ``limit`` of the digest's leaves, from byte ``offset``, with the live
        chains: each published head must still be stored, with the hash it had."""
        number = signed.digest.number
        leaves: list[DigestLeaf] = []
        next_offset: int | None = None
        for after, line in self.bucket.lines_from(signed.digest.leaves_key, offset):
            if not line:
                continue
            leaf = DigestLeaf.model_validate(json.loads(line))
            if leaf.account_id.startswith(prefix):
                leaves.append(leaf)
            if len(leaves) >= limit:
                next_offset = after
                break
        wanted = [(leaf.account_id, leaf.seq) for leaf in leaves if leaf.seq > 0]
        stored = self.listing.entries_at(wanted)
        breaks = []
        for leaf in leaves:
            if leaf.seq == 0:
                continue
            entry = stored.get((leaf.account_id, leaf.seq))
            if (leaf.account_id, leaf.seq) not in stored:
                detail = (
                    f"entry {leaf.seq}, the head digest {number} published, is no longer stored"
                )
            elif entry is None or entry.hash != leaf.head_hash:
                detail = (
                    f"entry {leaf.seq} no longer has the hash digest {number} published: "
                    "it or an entry before it was rewritten"
                )
            else:
                continue
            breaks.append(
                LedgerBreak(
                    account_id=leaf.account_id,
                    seq=leaf.seq,
                    kind=AuditBreakKind.DIGEST,
                    detail=detail,
                )
            )
        return DigestComparison(breaks=breaks, compared=len(leaves), next_offset=next_offset)
