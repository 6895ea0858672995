"""The JSON answers of the case routes (see ``chalicelib.answers``): a case as each role sees
it, its trail and its balances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.answers import AnswerBody, MoneyShown
from chalicelib.cases.models import CaseStatus, FundType, PartyRole, PartyType
from chalicelib.ledger.models import AccountBalance


class ReceivingAccountShown(AnswerBody):
    bank_name: str
    account_name: str
    account_number: str  # in full to finance and filers, else its last four digits
    confirmed_at: datetime
    confirmed_by: str


class PendingAccountChangeShown(AnswerBody):
    change_id: str
    approval_id: str
    bank_name: str
    account_name: str
    account_number: str
    reason: str
    proposed_by: str
    proposed_at: datetime


class PartyShown(AnswerBody):
    party_id: str
    role: PartyRole
    name: str
    type: PartyType
    id_number: str  # masked but to the case officer and admin
    phone: str
    receiving_account: ReceivingAccountShown | None = None
    pending_account_change: PendingAccountChangeShown | None = None


class CaseShown(AnswerBody):
    case_id: str
    case_number: str
    court_code: str
    court_name: str
    account_number: str
    account_number_display: str
    fund_types: list[FundType]
    adjudicated_amount: MoneyShown
    status: CaseStatus
    parties: list[PartyShown]
    opened_at: datetime
    opened_by: str
    updated_at: datetime
    version: int


class CaseList(AnswerBody):
    cases: list[CaseShown]
    cursor: str | None


class CaseEventShown(AnswerBody):
    case_id: str
    sequence: int
    at: datetime
    actor: str
    action: str
    reason: str | None
    details: dict[str, Any]


class CaseHistory(AnswerBody):
    events: list[CaseEventShown]


class CaseBalances(AnswerBody):
    case_id: str
    case_number: str
    account_number: str
    adjudicated_amount: int
    balance: AccountBalance
