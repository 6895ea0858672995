"""Staff roles, the courts they belong to, and the signed-in principal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from chalicelib.courts import court_of_account
from chalicelib.identity.errors import CourtNotYours
from chalicelib.problems import ProblemError


class Role(StrEnum):
    CLERK = "clerk"  # case officer, 承办人: opens cases, proposes transfers
    APPROVER = "approver"  # bureau chief or court leader: approves in levels
    FINANCE = "finance"  # 财务: final check, release, reconciliation
    AUDITOR = "auditor"  # 审计/纪检: read-only
    ADMIN = "admin"  # system administration


NATIONAL = "全国"  # in ``oversees``: the Supreme People's Court's view, every court read-only

ALL_STAFF: frozenset[Role] = frozenset(Role)
READERS: frozenset[Role] = ALL_STAFF


@dataclass(frozen=True)
class Principal:
    """Who is asking: the token's subject, display name, roles and courts.

    ``courts`` are the courts the person belongs to and acts in (court codes, ``粤0604``).
    ``oversees`` are the courts a higher court looks over, read-only: a court code, or the code
    of a higher court's area, which covers every court under it (``粤06`` covers ``粤0604``;
    ``粤`` the whole province; ``全国`` every court in the country). Four eyes compare
    ``subject``, never ``name``.
    """

    subject: str
    name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    courts: frozenset[str] = field(default_factory=frozenset)
    oversees: frozenset[str] = field(default_factory=frozenset)

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)

    def acts_in(self, court: str) -> bool:
        """May this person change anything in ``court`` (file, enter, claim, propose, post)?"""
        return court in self.courts

    def sees(self, court: str) -> bool:
        """May this person read ``court``'s cases and money: their own courts and those they
        oversee."""
        if self.acts_in(court) or NATIONAL in self.oversees:
            return True
        return any(court.startswith(area) for area in self.oversees)

    def check_court(self, court: str, *, act: bool, hidden_as: ProblemError) -> None:
        """Stop a request outside this person's courts.

        A court the person cannot see answers ``hidden_as`` (the capability's own "not found"),
        so another court's case looks exactly like no case at all. A court they oversee but do
        not belong to answers 403 to a change.
        """
        if not self.sees(court):
            raise hidden_as
        if act and not self.acts_in(court):
            raise CourtNotYours(f"you oversee court {court} but do not act in it")

    def check_accounts(
        self, accounts: Iterable[str], *, act: bool = False, hidden_as: ProblemError
    ) -> None:
        """``check_court`` for each case account among ``accounts`` (its number carries its
        court); the system accounts pass, as every court shares them."""
        for account in accounts:
            court = court_of_account(account)
            if court is not None:
                self.check_court(court, act=act, hidden_as=hidden_as)

    def sees_accounts(self, accounts: Iterable[str]) -> bool:
        """For filtering lists: may this person see every case account among ``accounts``?"""
        courts = (court_of_account(account) for account in accounts)
        return all(court is None or self.sees(court) for court in courts)

    def same_person(self, other_subject: str) -> bool:
        """Four eyes: is ``other_subject`` (a recorded token subject) this person?"""
        return self.subject == other_subject

    @property
    def actor(self) -> str:
        """How the audit trail names this person: ``name (subject)``."""
        return f"{self.name} ({self.subject})" if self.name != self.subject else self.subject
