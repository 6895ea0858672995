"""Calendar routes on moto: status, due dates, and announced schedules entered with history."""

from __future__ import annotations

import json
from typing import Any

SCHEDULE_2027 = {
    "holidays": ["2027-01-01", "2027-02-05", "2027-02-08"],
    "workdays": ["2027-02-06"],
    "source_note": "国务院办公厅关于2027年部分节假日安排的通知",
    "expected_version": 0,
}


def post(api: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return api.post(path, body=json.dumps(body, ensure_ascii=False), headers=headers)


def test_a_deadline_over_national_day(api: Any, token: Any) -> None:
    answer = api.get("/calendar/deadline?start=2026-09-30&working_days=3", headers=token("clerk"))
    assert answer.status_code == 200
    assert answer.json_body == {
        "start": "2026-09-30",
        "working_days": 3,
        "due": "2026-10-10",
        "provisional": False,
        "unknown_years": [],
    }


def test_an_admin_enters_next_year_and_deadlines_stop_being_provisional(
    api: Any, token: Any
) -> None:
    before = api.get("/calendar/deadline?start=2026-12-31&working_days=1", headers=token("clerk"))
    assert before.json_body["due"] == "2027-01-01"
    assert before.json_body["provisional"] is True
    assert api.get("/calendar/status", headers=token("clerk")).json_body["needed_years"] == [2027]

    entered = post(api, "/calendar/years/2027", SCHEDULE_2027, token("admin"))
    assert entered.status_code == 201, entered.json_body
    assert entered.json_body["version"] == 1
    assert entered.headers["Location"] == "/calendar/years/2027"

    after = api.get("/calendar/deadline?start=2026-12-31&working_days=1", headers=token("clerk"))
    assert after.json_body["due"] == "2027-01-04"
    assert after.json_body["provisional"] is False
    status = api.get("/calendar/status", headers=token("auditor")).json_body
    assert status["alarm"] is None
    assert status["announced_years"] == [2027]
    # Make-up Saturday 6 February in the entered schedule counts.
    made_up = api.get("/calendar/deadline?start=2027-02-04&working_days=1", headers=token("clerk"))
    assert made_up.json_body["due"] == "2027-02-06"


def test_a_correction_is_a_new_version_and_the_history_is_kept(api: Any, token: Any) -> None:
    assert post(api, "/calendar/years/2027", SCHEDULE_2027, token("admin")).status_code == 201
    corrected = {**SCHEDULE_2027, "holidays": ["2027-01-01"], "expected_version": 1}
    second = post(api, "/calendar/years/2027", corrected, token("admin", subject="admin-2"))
    assert second.status_code == 201
    assert second.json_body["version"] == 2
    year = api.get("/calendar/years/2027", headers=token("auditor")).json_body
    assert [v["version"] for v in year["history"]] == [1, 2]
    assert year["current"]["holidays"] == ["2027-01-01"]
    assert year["history"][0]["entered_by"] == "admin-1"
    assert year["history"][1]["entered_by"] == "admin-2"


def test_an_entry_from_a_stale_screen_is_refused_and_stores_nothing(api: Any, token: Any) -> None:
    assert post(api, "/calendar/years/2027", SCHEDULE_2027, token("admin")).status_code == 201
    stale = post(api, "/calendar/years/2027", SCHEDULE_2027, token("admin"))
    assert stale.status_code == 409
    assert stale.headers["Content-Type"].startswith("application/problem+json")
    history = api.get("/calendar/years/2027", headers=token("admin")).json_body["history"]
    assert len(history) == 1


def test_a_year_the_package_knows_is_not_entered(api: Any, token: Any) -> None:
    answer = post(api, "/calendar/years/2026", SCHEDULE_2027, token("admin"))
    assert answer.status_code == 409
    assert "package" in answer.json_body["detail"]


def test_bad_schedules_are_refused_with_the_field(api: Any, token: Any) -> None:
    wrong_year = post(
        api, "/calendar/years/2027", {**SCHEDULE_2027, "holidays": ["2028-01-03"]}, token("admin")
    )
    assert wrong_year.status_code == 422, wrong_year.json_body
    assert "2028-01-03" in wrong_year.json_body["detail"]
    unknown = post(api, "/calendar/years/2027", {**SCHEDULE_2027, "extra": 1}, token("admin"))
    assert unknown.json_body["errors"][0]["pointer"] == "/extra"
    assert api.get("/calendar/years/27", headers=token("admin")).status_code == 400
    assert api.get("/calendar/years/2027", headers=token("admin")).status_code == 404


def test_only_an_admin_enters_a_schedule(api: Any, token: Any) -> None:
    for role in ("clerk", "approver", "finance", "auditor"):
        assert post(api, "/calendar/years/2027", SCHEDULE_2027, token(role)).status_code == 403
    assert api.get("/calendar/status").status_code == 401
    assert api.get("/calendar/years/2027", headers=token("admin")).status_code == 404
