"""Deadline routes: the daily job on demand, clocks for staff, and the public 公示 page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clock import FixedClock
from chalicelib.collection.store import CollectionStore
from tests.conftest import NATIONWIDE
from tests.deadlines.test_daily_job import ARRIVED, Queue


@pytest.fixture
def overdue_money(
    api: Any, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_OUTBOX_DIR", str(tmp_path))
    queue = Queue()
    queue.add("pi_3NabcdefGHIJ1234", 88_800)
    store = CollectionStore(wiring.dynamodb(), wiring.table_name("COLLECTION_TABLE"))
    store.add_unidentified(queue.items["pi_3NabcdefGHIJ1234"])
    clock.set(datetime(2026, 10, 12, 1, 0, tzinfo=UTC))  # Monday 12 October, 09:00 in Beijing
    assert clock.now() > ARRIVED


@pytest.mark.usefixtures("overdue_money")
def test_the_daily_job_publishes_overdue_money_on_the_public_page(api: Any, token: Any) -> None:
    assert api.post("/deadlines/run", headers=token("clerk")).status_code == 403
    one_court = api.post("/deadlines/run", headers=token("admin"))
    assert one_court.status_code == 403  # the run reports every court's totals
    run = api.post("/deadlines/run", headers=token("admin", oversees=NATIONWIDE))
    assert run.status_code == 200, run.json_body
    assert run.json_body["published"] == 1
    assert run.json_body["escalated"] == 1

    page = api.get("/public/unclaimed")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src" not in page.headers["Content-Security-Policy"]
    text = page.body.decode()
    assert "pi_******1234" in text
    assert "888.00" in text
    assert "pi_3NabcdefGHIJ1234" not in text

    overdue = api.get("/deadlines?state=overdue", headers=token("clerk")).json_body
    assert [(c["kind"], c["subject"], c["working_days_left"]) for c in overdue] == [
        ("claim", "pi_3NabcdefGHIJ1234", -2)
    ]
    assert api.get("/deadlines?state=late", headers=token("clerk")).status_code == 422
    assert api.get("/deadlines").status_code == 401


def test_the_page_says_so_when_nothing_is_published(api: Any) -> None:
    page = api.get("/public/unclaimed")
    assert page.status_code == 200
    assert "Nothing is published now" in page.body.decode()
