"""Audit of the whole ledger: the check of every account, transfer and sum, and the signed
daily digest that anchors every account's head outside the table.

Other packages use the names exported here, nothing deeper; ``chalicelib.wiring`` builds the
check and the digest publisher.
"""

from __future__ import annotations

from chalicelib.audit.check import LedgerCheck
from chalicelib.audit.digest import Digest, DigestLeaf, InclusionProof, SignedDigest
from chalicelib.audit.errors import (
    AnchorUnavailable,
    AuditError,
    DigestInvalid,
    DigestNotFound,
    InvalidAuditQuery,
)
from chalicelib.audit.models import AuditBreakKind, CheckPage, LedgerBreak
from chalicelib.audit.publisher import DigestPublisher

__all__ = [
    "AnchorUnavailable",
    "AuditBreakKind",
    "AuditError",
    "CheckPage",
    "Digest",
    "DigestInvalid",
    "DigestLeaf",
    "DigestNotFound",
    "DigestPublisher",
    "InclusionProof",
    "InvalidAuditQuery",
    "LedgerBreak",
    "LedgerCheck",
    "SignedDigest",
]
