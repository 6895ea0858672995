"""Payouts benchmark: DynamoDB calls per disbursement step, split into writes to the payouts
table (the goal: one write per state change), ledger writes and reads.

Runs the real workflow and sender on moto with a rail that answers at once in memory, so only
our own storage is counted; nothing is timed. A write that commits an approval step with the
disbursement's change is one TransactWriteItems, counted once.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import Row
from bench.calls import WRITES, counting, names

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FILING = {
    "case_number": "(2026)粤0604执4242号",
    "court_code": "粤0604",
    "court_name": "佛山市禅城区人民法院",
    "fund_types": ["enforcement"],
    "adjudicated_amount": 1_000_000,
    "parties": [
        {
            "role": "creditor", "name": "张三", "type": "person",
            "id_number": "440104198001011238", "phone": "13812345678",
            "receiving_account": {
                "bank_name": "中国工商银行佛山分行", "account_name": "张三",
                "account_number": "6222020200112233445",
            },
        },
        {
            "role": "debtor", "name": "佛山某某贸易有限公司", "type": "organisation",
            "id_number": "91350100M000100Y43", "phone": "13987654321",
        },
    ],
}  # fmt: skip


@dataclass
class InstantRail:
    """A payout rail that accepts at once and, asked again, reports the payout as ``outcome``
    says (paid unless told otherwise)."""

    name: str = "instant"
    payouts: dict[str, Any] = field(default_factory=dict)
    outcome: dict[str, Any] = field(default_factory=dict)

    def send(self, *, key: str, amount: int, currency: str, **_: Any) -> Any:
        from chalicelib.payouts import PayoutStatus, RailPayout

        self.payouts.setdefault(
            key,
            RailPayout(reference=f"obp_{len(self.payouts)}", amount=amount, currency=currency,
                       status=PayoutStatus.PROCESSING, created_at=START, key=key),
        )  # fmt: skip
        return self.payouts[key]

    def find(self, *, key: str, since: datetime) -> Any:
        return self.payouts.get(key)

    def retrieve(self, reference: str) -> Any:
        from dataclasses import replace

        from chalicelib.payouts import PayoutStatus

        payout = next(p for p in self.payouts.values() if p.reference == reference)
        status = self.outcome.get(reference, PayoutStatus.PAID)
        return replace(payout, status=status, failure_reason=f"bench: {status.value}")

    def parse_event(self, raw_body: bytes, headers: Any) -> Any:
        raise NotImplementedError("the benchmark settles through retrieve")


@dataclass
class Step:
    name: str
    state_changes: int
    calls: Counter[str] = field(default_factory=Counter)


def _kind(payouts_table: str) -> Callable[[str, dict[str, Any]], str]:
    """A call's kind: a write to the payouts table, a ledger or cases write, or a read."""

    def kind(name: str, params: dict[str, Any]) -> str:
        if name not in WRITES:
            return f"read {name}"
        tables = {params.get("TableName")} | {
            next(iter(item.values()))["TableName"] for item in params.get("TransactItems", [])
        }
        return f"{'payouts' if payouts_table in tables else 'other'} {name}"

    return kind


def _funded_case() -> Any:
    """The bench's case, holding 10,000.00 yuan."""
    from chalicelib.cases.models import OpenCase
    from chalicelib.ledger import SystemAccount, TransferCode, TransferRequest
    from chalicelib.wiring import case_service, ledger_service

    ledger = ledger_service()
    ledger.ensure_system_accounts()
    case = case_service().open(OpenCase.model_validate(FILING), actor="clerk")[0]
    ledger.transfer(
        TransferRequest.between(
            id="collection:bench", debit=SystemAccount.PAYMENT_CLEARING.of(),
            credit=case.account_number, amount=1_000_000, code=TransferCode.COLLECTION,
            requested_by="collection",
        )
    )  # fmt: skip
    return case


def _measure() -> list[Step]:
    import boto3
    from moto import mock_aws

    from chalicelib import wiring
    from chalicelib.clock import FixedClock
    from chalicelib.identity import Principal, Role
    from chalicelib.payouts.bodies import ProposeDisbursement
    from infra.tables import create_tables, table_names

    def who(role: Role, subject: str) -> Principal:
        return Principal(subject=subject, name=subject, roles=frozenset({role}))

    steps: list[Step] = []
    with mock_aws(), tempfile.TemporaryDirectory() as scratch:
        names = table_names("bench")
        os.environ.update(names)
        os.environ.update({"AUTH_ISSUER": "https://bench", "AUTH_AUDIENCE": "bench",
                           "REFERENCE_PHOTOS_BUCKET": "courtfunds-bench-reference-photos",
                           "NOTIFY_OUTBOX_DIR": str(Path(scratch))})  # fmt: skip
        wiring.reset()
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client, names)
        rail = InstantRail()
        clock = FixedClock(START)
        wiring.override(dynamodb=client, clock=clock, payout_rail=rail)
        from chalicelib.wiring import disbursement_workflow as disbursements
        from chalicelib.wiring import payout_sender

        case = _funded_case()
        creditor = next(p.party_id for p in case.parties if p.role.value == "creditor")
        workflow, sender = disbursements(), payout_sender()
        clerk, chief = who(Role.CLERK, "clerk-1"), who(Role.APPROVER, "chief-1")
        finance, finance_2 = who(Role.FINANCE, "finance-1"), who(Role.FINANCE, "finance-2")
        body = ProposeDisbursement(creditor_party_id=creditor, amount=300_000)
        state: dict[str, Any] = {}
        table = names["PAYOUTS_TABLE"]

        def run(name: str, changes: int, action: Callable[[], Any]) -> None:
            with counting(client, _kind(table)) as calls:
                state["d"] = action()
            steps.append(Step(name, changes, calls))

        def propose() -> Any:
            return workflow.propose(case.case_id, body, by=clerk, idempotency_key="bench-0001")

        run("propose (with an Idempotency-Key)", 1, propose)
        run("the same proposal sent again (a replay)", 0, propose)
        d_id = state["d"].disbursement_id
        run("approve: the chief's step", 1, lambda: workflow.approve(d_id, by=chief))
        run("approve: finance's step (chain complete, reserve, claim link)", 1,
            lambda: workflow.approve(d_id, by=finance))  # fmt: skip
        why = "单位债权人"  # an organisation: paid by finance without a face check
        run("ask for a staff release", 1,
            lambda: workflow.request_staff_release(d_id, by=finance, reason=why))  # fmt: skip
        run("staff release: the chief's step", 1,
            lambda: sender.decide_staff_release(d_id, by=chief, approve=True))  # fmt: skip
        run("staff release: the second finance step and send (released, sending, sent)", 3,
            lambda: sender.decide_staff_release(d_id, by=finance_2, approve=True))  # fmt: skip

        paying = state["d"]
        run("settle as paid (post the reservation)", 1,
            lambda: sender.settle(paying, rail.retrieve(paying.rail_reference)))  # fmt: skip
        _after_payment(run, workflow, sender, {
            "case": case, "body": body, "clerk": clerk, "chief": chief, "finance": finance,
            "finance_2": finance_2, "rail": rail, "d": state["d"]}, clock)  # fmt: skip
        wiring.reset()
    return steps


def _after_payment(
    run: Callable[[str, int, Callable[[], Any]], None],
    workflow: Any,
    sender: Any,
    ctx: dict[str, Any],
    clock: Any,
) -> None:
    """The paid disbursement returned and reissued; a second one deferred and cancelled; a
    third failed at the rail; the sweeper clearing and expiring."""
    from datetime import timedelta

    from chalicelib.payouts import PayoutStatus
    from chalicelib.payouts.bodies import DeferralRequest

    rail, clerk, chief, finance = ctx["rail"], ctx["clerk"], ctx["chief"], ctx["finance"]
    paid = ctx["d"]
    d_id = paid.disbursement_id
    rail.outcome[paid.rail_reference] = PayoutStatus.RETURNED
    run("the bank returns the paid payout (reverse, new clock)", 1,
        lambda: sender.settle(paid, rail.retrieve(paid.rail_reference)))  # fmt: skip
    run("reissue (reserve again, new claim link)", 1,
        lambda: workflow.reissue(d_id, by=finance))  # fmt: skip

    def approved(key: str) -> str:
        small = ctx["body"].model_copy(update={"amount": 100_000})
        d = workflow.propose(ctx["case"].case_id, small, by=clerk, idempotency_key=key)
        workflow.approve(d.disbursement_id, by=chief)
        return str(workflow.approve(d.disbursement_id, by=finance).disbursement_id)

    held = approved("bench-0002")
    until = DeferralRequest(reason="执行异议审查中", until=START.replace(day=20))
    run("ask for a deferral", 1, lambda: workflow.request_deferral(held, until, by=clerk))
    run("deferral approved (the clock deferred)", 1,
        lambda: workflow.decide_deferral(held, by=chief, approve=True))  # fmt: skip
    run("deferral ended early", 1, lambda: workflow.resume(held, by=chief))
    run("cancel after approval (release the money, withdraw the clock)", 1,
        lambda: workflow.cancel(held, by=clerk, reason="和解"))  # fmt: skip
    failing = approved("bench-0003")
    workflow.request_staff_release(failing, by=finance, reason="单位债权人")
    sender.decide_staff_release(failing, by=chief, approve=True)
    sent = sender.decide_staff_release(failing, by=ctx["finance_2"], approve=True)
    rail.outcome[sent.rail_reference] = PayoutStatus.FAILED
    run("settle as failed (release the money)", 1,
        lambda: sender.settle(sent, rail.retrieve(sent.rail_reference)))  # fmt: skip
    clock.advance(timedelta(minutes=5))
    run("sweeper: the cancelled one checked released and taken off its list", 1, sender.sweep)
    clock.advance(timedelta(days=56))
    run("sweeper: the reissued one, never released, expires (money released)", 1, sender.sweep)


def run() -> list[Row]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    rows = []
    for step in _measure():
        payout_writes = sum(n for k, n in step.calls.items() if k.startswith("payouts "))
        rows.append(
            Row(
                area="payouts",
                measure=f"DynamoDB calls: {step.name}",
                goal=f"{step.state_changes} payouts write(s)",
                measured=f"payouts: {names(step.calls, prefix='payouts ')}; "
                f"ledger/cases: {names(step.calls, prefix='other ')}; "
                f"reads: {names(step.calls, prefix='read ')}",
                met=payout_writes == step.state_changes,
            )
        )
    return rows
