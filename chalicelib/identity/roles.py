"""Staff roles and the signed-in principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    CLERK = "clerk"  # case officer, 承办人: opens cases, proposes transfers
    APPROVER = "approver"  # bureau chief or court leader: approves in levels
    FINANCE = "finance"  # 财务: final check, release, reconciliation
    AUDITOR = "auditor"  # 审计/纪检: read-only
    ADMIN = "admin"  # system administration


ALL_STAFF: frozenset[Role] = frozenset(Role)
READERS: frozenset[Role] = ALL_STAFF


@dataclass(frozen=True)
class Principal:
    """Who is asking: the token's subject, display name and roles."""

    subject: str
    name: str
    roles: frozenset[Role] = field(default_factory=frozenset)

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)

    @property
    def actor(self) -> str:
        """How the audit trail names this person: ``name (subject)``."""
        return f"{self.name} ({self.subject})" if self.name != self.subject else self.subject
