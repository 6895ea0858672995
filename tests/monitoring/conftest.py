"""Monitoring fixtures: two courts with money held, clocks, unidentified funds and a payout."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.cases.models import OpenCase
from chalicelib.clock import FixedClock
from chalicelib.collection.store import CollectionStore
from chalicelib.deadlines import Deferral, LimitKind
from chalicelib.ledger import SystemAccount, TransferCode, TransferRequest
from tests.cases.factories import filing
from tests.deadlines.test_daily_job import Queue

TODAY = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 2 November, 10:00 in Beijing
COURTS = ("粤0604", "粤0605")


def open_case_at(court: str, serial: int, held: int) -> str:
    body = OpenCase.model_validate(
        filing(serial, case_number=f"(2026){court}执{serial}号", court_code=court)
    )
    case = wiring.case_service().open(body, actor="clerk-1")[0]
    wiring.ledger_service().transfer(
        TransferRequest.between(
            id=f"collection:seed-{case.account_number}",
            debit=SystemAccount.PAYMENT_CLEARING.of("CNY"),
            credit=case.account_number,
            amount=held,
            code=TransferCode.COLLECTION,
            requested_by="rail:stripe",
        )
    )
    return case.account_number


@pytest.fixture
def courts(api: Any, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("MONITORED_COURTS", '["粤0604", "粤0605"]')
    monkeypatch.setenv("NOTIFY_OUTBOX_DIR", str(tmp_path))
    wiring.reset()
    wiring.override(clock=clock)
    clock.set(datetime(2026, 9, 29, 2, 0, tzinfo=UTC))
    wiring.ledger_service().ensure_system_accounts()
    a1 = open_case_at("粤0604", 1, 1_250_000_00)
    open_case_at("粤0604", 2, 80_000_00)
    b1 = open_case_at("粤0605", 3, 300_000_00)
    deadlines = wiring.deadline_service()
    arrived = clock.now()
    # 粤0604: one disbursement paid after 12 working days, one overdue; 粤0605 one deferred.
    deadlines.track(LimitKind.DISBURSEMENT, subject="d-paid", court="粤0604", arrived_at=arrived)
    deadlines.met(LimitKind.DISBURSEMENT, "d-paid", on=date(2026, 10, 20))
    deadlines.track(LimitKind.DISBURSEMENT, subject="d-late", court="粤0604", arrived_at=arrived)
    deadlines.track(LimitKind.NOTICE, subject=a1, court="粤0604", arrived_at=TODAY)
    deadlines.track(LimitKind.DISBURSEMENT, subject="d-held", court="粤0605", arrived_at=arrived)
    deadlines.defer(
        LimitKind.DISBURSEMENT,
        "d-held",
        Deferral(reason="案外人异议审查中", until=date(2026, 12, 31), approved_by="approver-2"),
    )
    deadlines.met(LimitKind.NOTICE, b1, on=date(2026, 9, 30))
    queue = Queue()
    queue.add("pi_3NunknownPAYER99", 5_000_00)
    CollectionStore(wiring.dynamodb(), wiring.table_name("COLLECTION_TABLE")).add_unidentified(
        queue.items["pi_3NunknownPAYER99"]
    )
    clock.set(TODAY)
    return COURTS
