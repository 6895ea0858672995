"""Signing keys: KMS (as deployed, on moto) and the local stack's key file both verify offline;
the Merkle tree matches RFC 6962 on trees of every shape."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from chalicelib import wiring
from chalicelib.audit.merkle import (
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_inclusion,
)
from chalicelib.audit.signing import KmsSigner, LocalKeySigner, verify_signature


def test_kms_signature_verifies_offline_with_its_public_key(kms_key: str) -> None:
    signer = KmsSigner(wiring.kms(), kms_key)
    signature = signer.sign(b"digest 1")
    assert verify_signature(signer.public_key_pem(), b"digest 1", signature)
    assert not verify_signature(signer.public_key_pem(), b"digest 2", signature)


def test_local_key_is_created_once_and_verifies(tmp_path: Path) -> None:
    first = LocalKeySigner(str(tmp_path / "key.pem"))
    again = LocalKeySigner(str(tmp_path / "key.pem"))
    assert first.public_key_pem() == again.public_key_pem()
    assert verify_signature(again.public_key_pem(), b"m", first.sign(b"m"))
    other = LocalKeySigner(str(tmp_path / "other.pem"))
    assert not verify_signature(other.public_key_pem(), b"m", first.sign(b"m"))


def test_merkle_root_follows_rfc_6962() -> None:
    leaves = [b"a", b"b", b"c"]
    hashes = [leaf_hash(x) for x in leaves]
    assert hashes[0] == hashlib.sha256(b"\x00a").digest()
    expected = node_hash(node_hash(hashes[0], hashes[1]), hashes[2])
    assert root_of(hashes) == expected


def test_every_leaf_of_every_tree_size_proves_and_no_other_leaf_does(aws: Any) -> None:
    for size in range(1, 18):
        leaves = [f"leaf-{i}".encode() for i in range(size)]
        hashes = [leaf_hash(x) for x in leaves]
        root = root_of(hashes)
        for index in range(size):
            proof = inclusion_proof(hashes, index)
            assert verify_inclusion(leaves[index], index, size, proof, root)
            assert not verify_inclusion(b"forged", index, size, proof, root)
            if size > 1:
                assert not verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
