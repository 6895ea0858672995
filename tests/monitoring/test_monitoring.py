"""Monitoring across courts: the figures, the CSV and the page, for those who may see them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

# a leader of the intermediate court 粤06, who sees both basic courts monitored here
LEADER: dict[str, Any] = {"subject": "leader-06", "courts": ("粤06",), "oversees": ("粤06",)}


@pytest.mark.usefixtures("courts")
def test_the_figures_per_court(api: Any, token: Any) -> None:
    answer = api.get("/monitoring/overview", headers=token("approver", **LEADER))
    assert answer.status_code == 200, answer.json_body
    view = answer.json_body
    by_court = {c["court"]: c for c in view["courts"]}
    first, second = by_court["粤0604"], by_court["粤0605"]
    assert (first["cases"], first["held"]) == (2, 1_330_000_00)
    assert (second["cases"], second["held"]) == (1, 300_000_00)
    # 29 September to 20 October: 30 Sep, 8, 9, 10 (make-up Saturday), 12-16, 19, 20 October.
    assert (first["payouts"], first["payout_days_average"], first["payout_days_worst"]) == (
        1,
        11.0,
        11,
    )
    assert (first["overdue"], first["near_due"], first["deferred"]) == (1, 0, 0)
    assert (second["overdue"], second["deferred"], second["payouts"]) == (0, 1, 0)
    # Waiting since 29 September: 11 working days to 20 October, then 21-23 and 26-30 October
    # and Monday 2 November.
    assert view["unidentified"] == {
        "open": 1,
        "amount": 5_000_00,
        "oldest_working_days": 20,
        "overdue": 1,
    }
    assert [d["status"] for d in view["reconciliation"]] == ["not_run"] * 7
    one = api.get("/monitoring/overview?court=粤0605", headers=token("auditor", **LEADER)).json_body
    assert [c["court"] for c in one["courts"]] == ["粤0605"]


@pytest.mark.usefixtures("courts")
def test_the_csv_holds_the_same_figures(api: Any, token: Any) -> None:
    answer = api.get("/monitoring/courts.csv", headers=token("finance", **LEADER))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.body.decode())))
    assert [(r["court"], r["held fen"], r["held yuan"], r["overdue"]) for r in rows] == [
        ("粤0604", "133000000", "1330000.00", "1"),
        ("粤0605", "30000000", "300000.00", "0"),
    ]


@pytest.mark.usefixtures("courts")
def test_the_page_is_server_rendered_with_charts_and_no_script(api: Any, token: Any) -> None:
    answer = api.get("/monitoring", headers=token("approver", **LEADER))
    assert answer.status_code == 200
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src" not in policy
    assert "default-src 'none'" in policy
    page = answer.body.decode()
    assert "<script" not in page
    assert " on" not in page.split("<body>")[1].split(">")[0]
    assert page.count("<svg") == 2
    assert "1,330,000.00" in page
    assert "粤0605" in page
    assert "11.0 / 11" in page  # average and worst working days to payout
    css = api.get("/oversight.css")
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")


@pytest.mark.usefixtures("courts")
def test_only_leaders_finance_auditors_and_admins_monitor(api: Any, token: Any) -> None:
    assert api.get("/monitoring", headers=token("clerk")).status_code == 403
    assert api.get("/monitoring/overview").status_code == 401
    unknown = api.get("/monitoring/overview?court=粤0101", headers=token("admin"))
    assert unknown.status_code == 404


@pytest.mark.usefixtures("courts")
def test_a_basic_court_sees_only_its_own_figures(api: Any, token: Any) -> None:
    own = api.get("/monitoring/overview", headers=token("approver"))
    assert [c["court"] for c in own.json_body["courts"]] == ["粤0604"]
    other = api.get("/monitoring/overview?court=粤0605", headers=token("approver"))
    unmonitored = api.get("/monitoring/overview?court=粤0101", headers=token("approver"))
    assert other.status_code == 404
    assert other.json_body["type"] == unmonitored.json_body["type"]
    rows = list(
        csv.DictReader(
            io.StringIO(api.get("/monitoring/courts.csv", headers=token("finance")).body.decode())
        )
    )
    assert [r["court"] for r in rows] == ["粤0604"]
    page = api.get("/monitoring", headers=token("approver")).body.decode()
    assert "粤0605" not in page
    assert "300,000.00" not in page
