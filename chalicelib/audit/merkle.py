"""A Merkle tree over account heads, as Certificate Transparency builds it (RFC 6962 §2.1).

Leaves and inner nodes are hashed with different prefixes (0x00 and 0x01), so a leaf can never
pass for a node; an inclusion proof is the list of sibling hashes from a leaf up to the root.
Pure, and small enough for an auditor to re-implement from this page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size >= 2)."""
    k = 1
    while k * 2 < size:
        k *= 2
    return k


def root_of(hashes: Sequence[bytes]) -> bytes:
    """The root over these leaf hashes, in order."""
    if not hashes:
        return bytes.fromhex(EMPTY_ROOT)
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(root_of(hashes[:k]), root_of(hashes[k:]))


def inclusion_proof(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The sibling hashes that lead from leaf ``index`` to the root, lowest first."""
    if not 0 <= index < len(hashes):
        raise IndexError(f"leaf {index} is not in a tree of {len(hashes)}")
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*inclusion_proof(hashes[:k], index), root_of(hashes[k:])]
    return [*inclusion_proof(hashes[k:], index - k), root_of(hashes[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``leaf`` is leaf ``index`` of the tree of ``size`` leaves with this root
    (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    current = leaf_hash(leaf)
    for sibling in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            current = node_hash(sibling, current)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            current = node_hash(current, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and current == root
