"""Court scoping of cases: a case a member of staff may see or change.

Another court's case is answered exactly as a missing one (404), never with its data; a court
the person only oversees is readable, and a change there is refused (403). Case accounts and
other records that carry a court are checked with ``Principal.check_court`` and
``Principal.check_accounts`` the same way.
"""

from __future__ import annotations

from chalicelib.cases.errors import CaseNotFound
from chalicelib.cases.models import Case
from chalicelib.identity import Principal


def check_case(principal: Principal, case: Case, *, act: bool = False) -> Case:
    """``case`` (already read), if ``principal`` may see it (and, with ``act``, change it)."""
    hidden = CaseNotFound(f"there is no case {case.case_id}")
    principal.check_court(case.court_code, act=act, hidden_as=hidden)
    return case
