"""Clocks are listed for the courts the caller sees: another court's items never show, asking
for another court is refused, a higher court sees the courts under it; unidentified money has
no court yet and shows to every reader, as its queue does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from chalicelib.deadlines.clocks import LimitKind
from chalicelib.deadlines.daily import UNASSIGNED_COURT
from chalicelib.wiring import deadline_service

ARRIVED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _subjects(answer: Any) -> set[str]:
    assert answer.status_code == 200, answer.body
    return {c["subject"] for c in answer.json_body}


def test_clocks_are_listed_for_the_courts_the_caller_sees(api: Any, token: Any) -> None:
    service = deadline_service()
    service.track(LimitKind.NOTICE, subject="case-here", court="粤0604", arrived_at=ARRIVED)
    service.track(LimitKind.NOTICE, subject="case-there", court="粤0605", arrived_at=ARRIVED)
    service.track(LimitKind.CLAIM, subject="pi_nocourt", court=UNASSIGNED_COURT, arrived_at=ARRIVED)

    assert _subjects(api.get("/deadlines", headers=token("clerk"))) == {"case-here", "pi_nocourt"}
    there = token("clerk", subject="clerk-there", courts=("粤0605",))
    assert _subjects(api.get("/deadlines", headers=there)) == {"case-there", "pi_nocourt"}
    refused = api.get(f"/deadlines?court={quote('粤0604')}", headers=there)
    assert refused.status_code == 403
    assert "case-here" not in refused.body.decode()
    overseer = token("approver", subject="intermediate-1", courts=("粤06",), oversees=("粤06",))
    assert _subjects(api.get("/deadlines", headers=overseer)) == {
        "case-here",
        "case-there",
        "pi_nocourt",
    }
    one = api.get(f"/deadlines?court={quote('粤0605')}", headers=overseer)
    assert _subjects(one) == {"case-there"}
