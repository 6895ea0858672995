"""How a case is shown to each role: personal data in full only to those who need it."""

from __future__ import annotations

from typing import Any

from chalicelib.approvals import ChainKind, approval_id
from chalicelib.cases.identifiers import group_account_number, mask_middle
from chalicelib.cases.models import Case, CaseEvent, Party
from chalicelib.identity import Principal, Role
from chalicelib.money import format_yuan

# The case officer works with the parties directly; admin corrects filings.
SEES_PERSONAL_DATA = frozenset({Role.CLERK, Role.ADMIN})
# Finance releases payouts to the receiving account, so it sees the account number in full.
SEES_BANK_ACCOUNTS = frozenset({Role.CLERK, Role.ADMIN, Role.FINANCE})


def mask_id_number(value: str) -> str:
    return mask_middle(value, keep_start=4, keep_end=4)


def mask_phone(value: str) -> str:
    return mask_middle(value, keep_start=3, keep_end=4)


def shown_account_number(number: str, viewer: Principal) -> str:
    """A bank account number in full to those who pay or file, else its last four digits."""
    if viewer.has_any(SEES_BANK_ACCOUNTS):
        return number
    return mask_middle(number, keep_start=0, keep_end=4)


def _party(party: Party, viewer: Principal) -> dict[str, Any]:
    personal = viewer.has_any(SEES_PERSONAL_DATA)
    shown: dict[str, Any] = {
        "party_id": party.party_id,
        "role": party.role.value,
        "name": party.name,
        "type": party.type.value,
        "id_number": party.id_number if personal else mask_id_number(party.id_number),
        "phone": party.phone if personal else mask_phone(party.phone),
    }
    if party.receiving_account is not None:
        account = party.receiving_account
        shown["receiving_account"] = {
            "bank_name": account.bank_name,
            "account_name": account.account_name,
            "account_number": shown_account_number(account.account_number, viewer),
            "confirmed_at": account.confirmed_at.isoformat(),
            "confirmed_by": account.confirmed_by,
        }
    pending = party.pending_account_change
    if pending is not None:
        shown["pending_account_change"] = {
            "change_id": pending.change_id,
            "approval_id": approval_id(ChainKind.PAYEE_CHANGE, pending.change_id),
            "bank_name": pending.bank_name,
            "account_name": pending.account_name,
            "account_number": shown_account_number(pending.account_number, viewer),
            "reason": pending.reason,
            "proposed_by": pending.proposed_by,
            "proposed_at": pending.proposed_at.isoformat(),
        }
    return shown


def case_view(case: Case, viewer: Principal) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "case_number": case.case_number,
        "court_code": case.court_code,
        "court_name": case.court_name,
        "account_number": case.account_number,
        "account_number_display": group_account_number(case.account_number),
        "fund_types": [f.value for f in case.fund_types],
        "adjudicated_amount": {
            "fen": case.adjudicated_amount,
            "currency": case.currency,
            "yuan": format_yuan(case.adjudicated_amount),
        },
        "status": case.status.value,
        "parties": [_party(p, viewer) for p in case.parties],
        "opened_at": case.opened_at.isoformat(),
        "opened_by": case.opened_by,
        "updated_at": case.updated_at.isoformat(),
        "version": case.version,
    }


def event_view(event: CaseEvent, viewer: Principal) -> dict[str, Any]:
    """A trail line; receiving accounts it names (old and new, on a change of account) are
    masked as the case view masks them for this viewer."""
    shown = event.model_dump(mode="json")
    details = shown["details"]
    for side in ("old", "new"):
        account = details.get(side)
        if isinstance(account, dict) and "account_number" in account:
            details[side] = {
                **account,
                "account_number": shown_account_number(account["account_number"], viewer),
            }
    return shown
