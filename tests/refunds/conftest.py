"""Refund fixtures: collection on moto and localstripe (its fixtures reused), the refund
service, the people of the court, and a payment received online or as counter cash."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.cases import Case
from chalicelib.clock import FixedClock
from chalicelib.collection import CollectionService, Payment
from chalicelib.collection.models import StartPayment
from chalicelib.identity.roles import Principal, Role
from chalicelib.refunds import RefundService
from chalicelib.wiring import counter_cash_desk, refund_service
from tests.collection.conftest import (  # noqa: F401 - fixtures shared with collection
    card_token,
    collection,
    foreign_intent,
    localstripe,
    open_case,
    outbox,
    pay_at_rail,
)


def person(subject: str, *roles: Role) -> Principal:
    return Principal(subject=subject, name=subject, roles=frozenset(roles))


CLERK = person("clerk-li", Role.CLERK)
CHIEF = person("chief-wang", Role.APPROVER)
FINANCE = person("finance-chen", Role.FINANCE)
FINANCE_2 = person("finance-zhou", Role.FINANCE)


@pytest.fixture
def refunds(collection: CollectionService) -> RefundService:  # noqa: F811
    return refund_service()


def paid_online(
    collection: CollectionService,  # noqa: F811
    localstripe: str,  # noqa: F811
    case: Case,
    amount: int,
    *,
    surplus: bool = False,
) -> Payment:
    step = collection.start_payment(
        case.account_number,
        StartPayment(amount=amount, accept_surplus=surplus),
        idempotency_key=None,
    )
    collection.confirm_card(step.payment.payment_id, card_token(localstripe))
    paid = collection.payment(step.payment.payment_id)
    assert paid.status.value == "succeeded"
    return paid


def counter_cash(
    collection: CollectionService,  # noqa: F811
    clock: FixedClock,
    case: Case,
    amount: int,
    entry: str = "cash-1",
) -> Any:
    """Cash taken at the counter, entered by a clerk and confirmed by finance: it counts."""
    desk = counter_cash_desk()
    clerk = Principal(subject="clerk-3", name="clerk-3", roles=frozenset({Role.CLERK}))
    desk.enter(
        id=entry,
        account_number=case.account_number,
        amount=amount,
        receipt_no=f"GD-2026-{entry}",
        received_at=clock.now() - timedelta(minutes=10),
        by=clerk,
    )
    finance = Principal(subject="finance-7", name="finance-7", roles=frozenset({Role.FINANCE}))
    return desk.confirm(entry, by=finance)


def unidentified_payment(collection: CollectionService, localstripe: str, amount: int) -> str:  # noqa: F811
    """A payment naming no case, received at the rail and queued as unidentified money."""
    reference = foreign_intent(localstripe, amount)
    pay_at_rail(localstripe, reference)
    assert collection.settle(collection.rail.retrieve(reference)).outcome == "unidentified"
    return reference


def claim_to_case(collection: CollectionService, reference: str, account: str) -> Any:  # noqa: F811
    """Unidentified money claimed to a case account, proposed and confirmed by two people."""
    return collection.claim(
        reference,
        account_number=account,
        reason="付款人来电确认案号",
        actor="clerk-9",
        confirmed_by="finance-9",
        confirmer_subject="finance-9",
    )
