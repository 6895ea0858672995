"""Court scoping of cases: a case a member of staff may see or change.

Another court's case is answered exactly as a missing one (404), never with its data; a court
the person only oversees is readable, and a change there is refused (403). Case accounts and
other records that carry a court are checked with ``Principal.check_court`` and
``Principal.check_accounts`` the same way. What spans every court at once (the whole-ledger
check, the journal, the trial balance) is for those who oversee every province.
"""

from __future__ import annotations

from chalicelib.cases.errors import CaseNotFound
from chalicelib.cases.models import Case
from chalicelib.courts import PROVINCES
from chalicelib.identity import CourtNotYours, Principal


def check_case(principal: Principal, case: Case, *, act: bool = False) -> Case:
    """``case`` (already read), if ``principal`` may see it (and, with ``act``, change it)."""
    hidden = CaseNotFound(f"there is no case {case.case_id}")
    principal.check_court(case.court_code, act=act, hidden_as=hidden)
    return case


def sees_every_court(principal: Principal) -> bool:
    """Does ``principal`` oversee every province (the Supreme People's Court's oversight, or
    a national audit)? Only such a person sees what spans every court at once: the whole
    ledger with the system accounts, its journal and trial balance."""
    return all(principal.sees(province) for province in PROVINCES)


def check_every_court(principal: Principal, what: str) -> None:
    """Refuse (403) ``what``, which spans every court, to anyone who does not see them all."""
    if not sees_every_court(principal):
        raise CourtNotYours(
            f"{what} spans every court; ask for your own court's, or for a person who oversees "
            "every province"
        )
