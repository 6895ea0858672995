"""DynamoDB calls per refund step: request, submit, each approval, the last approval (held,
reserved, sent, paid), a replayed decision, a refund event delivered again, a sweep with nothing
to do, return and answer, reject, and cancelling a draft or an approved refund. Goal: one write
per state change of the refund, none for a replay. Counted on moto; no timings."""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from bench import Row

TABLES = {
    "LEDGER_TABLE": "bench-ledger",
    "APPROVALS_TABLE": "bench-approvals",
    "REFUNDS_TABLE": "bench-refunds",
    "OVERSIGHT_TABLE": "bench-oversight",
}
WRITES = frozenset({"PutItem", "UpdateItem", "TransactWriteItems", "DeleteItem"})


@contextmanager
def _counting(client: Any) -> Iterator[Counter[str]]:
    """Count operations by name and by the tables they touch (``Op:table``)."""
    calls: Counter[str] = Counter()

    def count(model: Any, params: Any, **_: Any) -> None:
        body = params.get("body") if isinstance(params, dict) else None
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        touched = sorted(name for name in TABLES.values() if name in text)
        calls[f"{model.name}:{'+'.join(t.removeprefix('bench-') for t in touched)}"] += 1

    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)


def _summary(calls: Counter[str]) -> tuple[int, int, str]:
    writes = sum(n for name, n in calls.items() if name.split(":")[0] in WRITES)
    refund_writes = sum(
        n
        for name, n in calls.items()
        if name.split(":")[0] in WRITES and "ledger" not in name.split(":")[1]
    )
    text = ", ".join(f"{n} {name}" for name, n in sorted(calls.items())) or "none"
    return writes, refund_writes, text


def _due_after(client: Any, clock: Any) -> Any:
    """The court's working-day calendar the approvals count due times on."""
    from chalicelib.workdays import ScheduleStore, WorkingCalendar

    return WorkingCalendar(ScheduleStore(client, TABLES["OVERSIGHT_TABLE"]), clock=clock).due_after


def run() -> list[Row]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    import boto3
    from moto import mock_aws

    from chalicelib.approvals import Decision
    from chalicelib.clock import FixedClock
    from chalicelib.identity.roles import Principal, Role
    from chalicelib.problems import ProblemError
    from chalicelib.refunds.models import Origin, ReasonCode
    from infra.refund_desk import create_tables, funded_payment, refund_desk

    def person(subject: str, role: Role) -> Principal:
        return Principal(subject=subject, name=subject, roles=frozenset({role}))

    clerk, chief = person("clerk", Role.CLERK), person("chief", Role.APPROVER)
    finance = person("finance", Role.FINANCE)
    rows: list[Row] = []
    with mock_aws():
        client = boto3.client("dynamodb")
        create_tables(client, TABLES)
        clock = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
        desk = refund_desk(client, TABLES, clock, due_after=_due_after(client, clock))
        refunds = desk.refunds
        source = funded_payment(
            desk.ledger, reference="bench-pay", amount=100_000, case_id="bench-case", at=clock.now()
        )
        # the ledger knows the account, as a warm Lambda would
        desk.ledger.balance(source.ledger_account)

        def step(name: str, changes: int, action: Callable[[], object], note: str = "") -> None:
            # a replay is refused; what it costs is the measure
            with _counting(client) as calls, contextlib.suppress(ProblemError):
                action()
            writes, refund_writes, text = _summary(calls)
            goal = "1 write per state change" if changes else "no write"
            met = refund_writes == changes if changes else writes == 0
            rows.append(
                Row(
                    area="refunds",
                    measure=f"DynamoDB calls: {name}",
                    goal=goal,
                    measured=text,
                    met=met,
                    note=note or f"{changes} state change(s); {writes} write(s) in all",
                )
            )

        drafted: list[str] = []
        step(
            "request (draft)",
            1,
            lambda: drafted.append(
                refunds.draft(
                    "rf-bench", source, 20_000, ReasonCode.OVERPAYMENT,
                    origin=Origin.CLERK, note="bench",
                ).refund_id  # type: ignore[union-attr]
            ),
            "the draft is written only if absent; one read checks the payment's hold first",
        )  # fmt: skip
        step("submit (opens the approval)", 1, lambda: refunds.submit("rf-bench", by=clerk))
        step(
            "approve a step",
            1,
            lambda: refunds.decide("rf-bench", Decision.APPROVE, by=chief, text=None),
        )
        step(
            "last approval: held, reserved, sent, paid",
            3,
            lambda: refunds.decide("rf-bench", Decision.APPROVE, by=finance, text=None),
            "approved (with the hold, one transaction), processing, paid; plus the ledger's "
            "reservation and posting",
        )
        step(
            "the same decision replayed",
            0,
            lambda: refunds.decide("rf-bench", Decision.APPROVE, by=finance, text=None),
            "refused by the refund's state after one read",
        )
        _replays_and_other_steps(desk, source, step, clerk=clerk, chief=chief, finance=finance)
    return rows


def _replays_and_other_steps(
    desk: Any, source: Any, step: Callable[..., None], *, clerk: Any, chief: Any, finance: Any
) -> None:
    """After the paid refund: its event delivered again, an idle sweep, and the steps of the
    other ways a refund ends (returned and answered, rejected, cancelled as a draft or once
    approved)."""
    from chalicelib.approvals import Decision
    from chalicelib.refunds.models import Origin, ReasonCode, SourceKind

    refunds, payback = desk.refunds, desk.payback
    paid = refunds.get("rf-bench").attempts[-1].rail_reference
    event = json.dumps({"id": "evt_bench", "refund": paid}).encode()
    payback.ingest_webhook(event, {})  # the rail's event, after the refund was paid
    step(
        "the same refund event delivered again",
        0,
        lambda: payback.ingest_webhook(event, {}),
        "the event's record read once; nothing written",
    )
    step("sweep with nothing to finish", 0, payback.sweep, "three index queries")

    def asked(refund_id: str, fen: int, kind: SourceKind = SourceKind.ONLINE) -> None:
        made = source.model_copy(update={"kind": kind})
        refunds.draft(
            refund_id, made, fen, ReasonCode.OVERPAYMENT, origin=Origin.CLERK, note="bench"
        )

    asked("rf-bench-2", 5_000)
    refunds.submit("rf-bench-2", by=clerk)
    step(
        "return for information",
        1,
        lambda: refunds.decide("rf-bench-2", Decision.RETURN, by=chief, text="请补充凭证"),
    )
    step(
        "the requester answers",
        1,
        lambda: refunds.answer("rf-bench-2", by=clerk, answer="凭证已补充"),
    )
    step(
        "reject",
        1,
        lambda: refunds.decide("rf-bench-2", Decision.REJECT, by=chief, text="不符合条件"),
    )
    asked("rf-bench-3", 5_000)
    step(
        "cancel a draft",
        1,
        lambda: refunds.cancel("rf-bench-3", by=clerk, reason="申请有误"),
    )
    asked("rf-bench-4", 5_000, kind=SourceKind.COUNTER_CASH)  # back by bank: it waits approved
    refunds.submit("rf-bench-4", by=clerk)
    refunds.decide("rf-bench-4", Decision.APPROVE, by=chief, text=None)
    refunds.decide("rf-bench-4", Decision.APPROVE, by=finance, text=None)
    step(
        "cancel an approved refund",
        1,
        lambda: refunds.cancel("rf-bench-4", by=finance, reason="当事人撤回"),
        "cancelled with the hold released and the void queued, one transaction; plus the "
        "ledger's void (the sweeper closes the queue's entry later)",
    )
