"""The JSON answers of the collection routes (see ``chalicelib.answers``): the payer's case and
payment, the staff's view of a case's standing, and the receipts of rail notices and of steps
of a two-person entry."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalicelib.answers import AnswerBody, MoneyShown
from chalicelib.collection.models import Outcome, PaymentStatus


class CaseToPay(AnswerBody):
    """What anyone who types the account number sees: only what a payer needs."""

    case_number_masked: str
    court_name: str
    account_number: str
    account_number_display: str
    accepts_payments: bool
    remaining: MoneyShown
    paid_in_full: bool


class ReceiptLinks(AnswerBody):
    zh: str
    en: str


class PaymentShown(AnswerBody):
    """A payment behind its unguessable id: it names the case in full, for the receipt."""

    payment_id: str
    status: PaymentStatus
    display_status: Literal["unpaid", "processing", "paid", "failed"]
    amount: MoneyShown
    case_number: str
    court_name: str
    account_number: str
    account_number_display: str
    created_at: datetime
    paid_at: datetime | None
    payment_reference: str | None
    receipt_number: str | None
    failure_message: str | None
    receipt_page: str
    receipt_pdf: ReceiptLinks | None = None  # once paid


class BrowserShown(AnswerBody):
    """What the pay page loads to take the card in the payer's browser."""

    rail: str
    publishable_key: str
    script_url: str


class PaymentStarted(AnswerBody):
    payment: PaymentShown
    client_secret: str | None
    browser: BrowserShown | None


class CardConfirmed(AnswerBody):
    payment: PaymentShown
    client_secret: str | None


class CaseStandingShown(AnswerBody):
    """For court staff: what the case owes, has been paid, has left and was overpaid."""

    case_id: str
    case_number: str
    account_number: str
    status: str
    owed: MoneyShown
    paid: MoneyShown
    remaining: MoneyShown
    surplus: MoneyShown
    paid_in_full: bool
    payments: int


class CasePayments(AnswerBody):
    payments: list[PaymentShown]


class PaymentEventReceived(AnswerBody):
    """The rail's notice was taken: its id, what became of it, and the payment's status where
    the notice only followed it."""

    event: str
    outcome: Outcome
    status: PaymentStatus | None = None
