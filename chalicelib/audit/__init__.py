"""Audit of the whole ledger: the check of every account, transfer and sum, and the signed
daily digest that anchors every account's head outside the table.

Other packages use the names exported here; ``chalicelib.wiring`` builds the check
(``audit.check``) and the digest publisher (``audit.publisher``) when a route first needs them.
"""

from __future__ import annotations

from chalicelib.audit.digest import Digest, DigestLeaf, InclusionProof, SignedDigest
from chalicelib.audit.errors import (
    AnchorUnavailable,
    AuditError,
    DigestInvalid,
    DigestNotFound,
    InvalidAuditQuery,
)
from chalicelib.audit.models import AuditBreakKind, CheckPage, LedgerBreak

__all__ = [
    "AnchorUnavailable",
    "AuditBreakKind",
    "AuditError",
    "CheckPage",
    "Digest",
    "DigestInvalid",
    "DigestLeaf",
    "DigestNotFound",
    "InclusionProof",
    "InvalidAuditQuery",
    "LedgerBreak",
    "SignedDigest",
]
