"""Payout fixtures: a funded case on moto, an in-memory payout rail that records every call
and can fail or crash on demand, signed test grants, and principals by subject."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.approvals import ChainKind
from chalicelib.cases import Case
from chalicelib.cases.models import OpenCase
from chalicelib.clock import FixedClock
from chalicelib.identity import Principal, Role
from chalicelib.ledger import SystemAccount, TransferCode, TransferRequest
from chalicelib.notifications import OutboxNotifier
from chalicelib.payouts import (
    Binding,
    GrantRefused,
    GrantUse,
    PayoutDestination,
    PayoutRailUnavailable,
    PayoutStatus,
    RailPayout,
)
from chalicelib.payouts.rail import PayoutEvent
from chalicelib.payouts.sending import PayoutSender
from chalicelib.payouts.workflow import DisbursementWorkflow
from chalicelib.wiring import case_service, ledger_service, payout_sender
from chalicelib.wiring import disbursement_workflow as disbursements
from tests.cases.factories import filing

GRANT_KEY = b"test-grant-key"


def staff(role: Role, subject: str, name: str | None = None) -> Principal:
    return Principal(subject=subject, name=name or subject, roles=frozenset({role}))


CLERK = staff(Role.CLERK, "clerk-1", "王书记员")
APPROVER = staff(Role.APPROVER, "chief-1", "李局长")
LEADER = staff(Role.APPROVER, "leader-1", "赵院长")
FINANCE = staff(Role.FINANCE, "finance-1", "陈会计")
FINANCE_2 = staff(Role.FINANCE, "finance-2", "周出纳")


class Crash(Exception):
    """Stands for the Lambda dying at this point."""


@dataclass
class FakeRail:
    """A payout rail in memory: the same key is the same payout, as at Stripe. ``crash_after``
    names a call after which the caller 'dies' (the call itself took effect)."""

    name: str = "fake"
    payouts: dict[str, RailPayout] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    unavailable: int = 0  # the next N sends fail without effect
    crash_after: str | None = None
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def send(
        self,
        *,
        key: str,
        amount: int,
        currency: str,
        destination: PayoutDestination,
        disbursement_id: str,
        description: str,
    ) -> RailPayout:
        self.calls.append("send")
        if self.unavailable:
            self.unavailable -= 1
            raise PayoutRailUnavailable("the payout service did not answer")
        if key not in self.payouts:
            self.payouts[key] = RailPayout(
                reference=f"obp_{next(self.counter)}", amount=amount, currency=currency,
                status=PayoutStatus.PROCESSING, created_at=datetime(2026, 11, 2, tzinfo=UTC),
                disbursement_id=disbursement_id, key=key,
            )  # fmt: skip
        self._maybe_crash("send")
        return self.payouts[key]

    def find(self, *, key: str, since: datetime) -> RailPayout | None:
        self.calls.append("find")
        return self.payouts.get(key)

    def retrieve(self, reference: str) -> RailPayout:
        self.calls.append("retrieve")
        return next(p for p in self.payouts.values() if p.reference == reference)

    def parse_event(self, raw_body: bytes, headers: Any) -> PayoutEvent:
        event = json.loads(raw_body)
        return PayoutEvent(event_id=event["id"], event_type=event["type"],
                           reference=event["reference"])  # fmt: skip

    def set_status(self, key: str, status: PayoutStatus, reason: str | None = None) -> None:
        self.payouts[key] = replace(self.payouts[key], status=status, failure_reason=reason)

    def sent_count(self) -> int:
        """Payouts that exist at the rail: what the creditor could receive."""
        return len(self.payouts)

    def _maybe_crash(self, step: str) -> None:
        if self.crash_after == step:
            self.crash_after = None
            raise Crash(step)


class SignedGrants:
    """Test grants: HMAC-signed JSON of a binding, marked used in the payouts table. It has
    the shape the face check's grants will have, so the payout step's use of them is real."""

    def __init__(self, table: str) -> None:
        self._table = table

    @staticmethod
    def issue(binding: Binding, grant_id: str = "g-1") -> str:
        body = json.dumps({"id": grant_id, **binding.model_dump()}, sort_keys=True)
        signature = hmac.new(GRANT_KEY, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}|{signature}"

    def check(self, grant: str, binding: Binding, *, now: datetime) -> GrantUse:
        body, _, signature = grant.rpartition("|")
        expected = hmac.new(GRANT_KEY, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise GrantRefused("the grant is not signed by the face check")
        claims = json.loads(body)
        grant_id = claims.pop("id")
        if claims != binding.model_dump():
            raise GrantRefused("the grant is bound to another payout")
        item = {
            "Put": {
                "TableName": self._table,
                "Item": {"pk": {"S": f"GRANT#{grant_id}"}, "sk": {"S": "USED"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        return GrantUse(grant_id=grant_id, mark_used=item)


def approve_all(workflow: DisbursementWorkflow, d: Any) -> Any:
    """Every step of a disbursement's chain at its tier (chief, leader above the limit, then
    finance); returns the approved disbursement."""
    steps = {"执行局长 bureau chief": APPROVER, "分管院领导 court leader": LEADER}
    chain = workflow.approvals.of_item(ChainKind.DISBURSEMENT, d.disbursement_id)
    assert chain is not None
    for step in chain.steps[chain.next_step :]:
        who = steps.get(step.title, FINANCE)
        d = workflow.approve(d.disbursement_id, by=who)
    return d


def release_by_staff(sender: PayoutSender, d: Any, *, last: Principal | None = None) -> Any:
    """The staff-release chain after finance asked: the chief, then a second member of
    finance, whose approval sends the money."""
    sender.decide_staff_release(d.disbursement_id, by=APPROVER, approve=True)
    return sender.decide_staff_release(d.disbursement_id, by=last or FINANCE_2, approve=True)


@dataclass
class World:
    workflow: DisbursementWorkflow
    sender: PayoutSender
    rail: FakeRail
    case: Case
    clock: FixedClock
    outbox: Path

    @property
    def creditor_id(self) -> str:
        return next(p.party_id for p in self.case.parties if p.role.value == "creditor")

    def available(self) -> int:
        return ledger_service().balance(self.case.account_number).available

    def posted(self) -> int:
        return ledger_service().balance(self.case.account_number).posted

    def in_transit(self) -> int:
        return ledger_service().balance(SystemAccount.PAYOUTS_IN_TRANSIT.of()).posted

    def claim_codes(self) -> list[str]:
        deliveries = OutboxNotifier(self.outbox / "notifications.jsonl", clock=self.clock)
        return [
            d.body.split("/claim#", 1)[1].split()[0]
            for d in deliveries.deliveries()
            if d.kind == "payout.claim_link"
        ]


def fund(case: Case, amount: int, transfer_id: str = "collection:test-1") -> None:
    ledger_service().transfer(
        TransferRequest.between(
            id=transfer_id, debit=SystemAccount.PAYMENT_CLEARING.of(), credit=case.account_number,
            amount=amount, code=TransferCode.COLLECTION, requested_by="collection",
        )
    )  # fmt: skip


def open_case(serial: int = 1234, **changes: Any) -> Case:
    body = OpenCase.model_validate(filing(serial, **changes))
    return case_service().open(body, actor="clerk-1")[0]


@pytest.fixture
def world(aws: Any, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A case holding 10,000.00 yuan, the workflow and sender on moto, a fake rail."""
    monkeypatch.setenv("NOTIFY_OUTBOX_DIR", str(tmp_path / "outbox"))
    rail = FakeRail()
    wiring.override(payout_rail=rail, face_grants=SignedGrants(wiring.table_name("PAYOUTS_TABLE")))
    ledger_service().ensure_system_accounts()
    case = open_case()
    fund(case, 1_000_000)
    return World(disbursements(), payout_sender(), rail, case, clock, tmp_path / "outbox")
