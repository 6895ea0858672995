"""Cases, parties and their status: the domain model and the request bodies staff send."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from chalicelib.bodies import Line, Reason, RequestBody
from chalicelib.cases import identifiers
from chalicelib.money import DEFAULT_CURRENCY, PositiveFen, check_currency


class CaseStatus(StrEnum):
    OPEN = "open"
    SUSPENDED = "suspended"
    CONCLUDED = "concluded"


# Which status may follow which; concluded is final (a concluded case's leftover money is
# refunded or paid out through the ledger, not by reopening it).
ALLOWED_CHANGES: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.SUSPENDED, CaseStatus.CONCLUDED}),
    CaseStatus.SUSPENDED: frozenset({CaseStatus.OPEN, CaseStatus.CONCLUDED}),
    CaseStatus.CONCLUDED: frozenset(),
}


class FundType(StrEnum):
    ENFORCEMENT = "enforcement"  # 执行款
    ENFORCEMENT_FEE = "enforcement_fee"  # 执行费
    DEPOSIT = "deposit"  # 保证金


class PartyRole(StrEnum):
    CREDITOR = "creditor"  # 申请执行人
    DEBTOR = "debtor"  # 被执行人


class PartyType(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


Name = Line


class ReceivingAccountIn(RequestBody):
    bank_name: Name
    account_name: Name
    account_number: Annotated[str, StringConstraints(pattern=r"^\d{8,30}$")]


class ProposeReceivingAccount(ReceivingAccountIn):
    """A clerk proposes a creditor's new receiving account, checked as filing checks it (the
    holder's name must match the creditor's, which the service compares with the case)."""

    reason: Reason


class RejectAccountChange(RequestBody):
    reason: Reason


class ApproveAccountChange(RequestBody):
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class PartyIn(RequestBody):
    role: PartyRole
    name: Name
    type: PartyType
    id_number: Annotated[
        str,
        BeforeValidator(identifiers.fold),
        StringConstraints(strip_whitespace=True, max_length=18),
    ]
    phone: Annotated[str, AfterValidator(identifiers.check_phone)]
    receiving_account: ReceivingAccountIn | None = None

    @model_validator(mode="after")
    def _check(self) -> PartyIn:
        if self.type is PartyType.PERSON:
            identifiers.check_resident_id(self.id_number)
        else:
            identifiers.check_credit_code(self.id_number)
        if self.role is PartyRole.CREDITOR:
            if self.receiving_account is None:
                raise ValueError("a creditor needs the receiving account confirmed at filing")
            if self.receiving_account.account_name != self.name:
                raise ValueError("the receiving account's name must match the creditor's name")
        elif self.receiving_account is not None:
            raise ValueError("only creditors have a receiving account")
        return self


class OpenCase(RequestBody):
    """What a case officer files to open a case."""

    case_number: str
    court_code: Annotated[str, AfterValidator(identifiers.check_court_code)]
    court_name: Annotated[Name, AfterValidator(identifiers.check_court_name)]
    fund_types: list[FundType] = Field(min_length=1, max_length=3)
    adjudicated_amount: PositiveFen
    currency: Annotated[str, AfterValidator(check_currency)] = DEFAULT_CURRENCY
    parties: list[PartyIn] = Field(min_length=1, max_length=50)

    @field_validator("case_number")
    @classmethod
    def _case_number(cls, value: str) -> str:
        return str(identifiers.parse_case_number(value))

    @model_validator(mode="after")
    def _check(self) -> OpenCase:
        number = identifiers.parse_case_number(self.case_number)
        if number.court_code != self.court_code:
            raise ValueError(
                f"the case number belongs to court {number.court_code}, not {self.court_code}"
            )
        roles = {p.role for p in self.parties}
        if roles != {PartyRole.CREDITOR, PartyRole.DEBTOR}:
            raise ValueError("a case needs at least one creditor and one debtor")
        if len(set(self.fund_types)) != len(self.fund_types):
            raise ValueError("each fund type may be named once")
        return self


class ChangeStatus(RequestBody):
    status: CaseStatus
    reason: Reason


class ListQuery(RequestBody):
    """Query string of the case list; values arrive as text."""

    court: Annotated[str, AfterValidator(identifiers.check_court_code)]
    status: CaseStatus | None = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2000)


class ReceivingAccount(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    bank_name: str
    account_name: str
    account_number: str
    confirmed_at: datetime
    confirmed_by: str


class PendingAccountChange(BaseModel):
    """A proposed receiving account waiting for its approval chain; nothing pays to it yet."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    change_id: str
    bank_name: str
    account_name: str
    account_number: str
    reason: str
    proposed_by: str  # how the trail names the proposer
    proposed_by_subject: str  # who, for four eyes
    proposed_at: datetime


class Party(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    party_id: str
    role: PartyRole
    name: str
    type: PartyType
    id_number: str
    phone: str
    receiving_account: ReceivingAccount | None = None
    pending_account_change: PendingAccountChange | None = None


class Case(BaseModel):
    """An enforcement case and its account (一案一账号)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    case_number: str
    court_code: str
    court_name: str
    account_number: str
    fund_types: list[FundType]
    adjudicated_amount: int
    currency: str
    status: CaseStatus
    parties: list[Party]
    opened_at: datetime
    opened_by: str
    updated_at: datetime
    version: int
    request_digest: str

    @property
    def creditors(self) -> list[Party]:
        return [p for p in self.parties if p.role is PartyRole.CREDITOR]

    def creditor(self, party_id: str) -> Party | None:
        return next((p for p in self.creditors if p.party_id == party_id), None)

    @property
    def debtors(self) -> list[Party]:
        return [p for p in self.parties if p.role is PartyRole.DEBTOR]


class CaseEvent(BaseModel):
    """One line of the case's trail (全程留痕): who did what, when and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    sequence: int
    at: datetime
    actor: str
    action: str
    reason: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
