"""Export routes and ``courtfunds export``: auditors ask, follow the progress, download."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from chalicelib import wiring
from chalicelib.exports.service import ExportService
from chalicelib.ledger import LedgerService
from courtfunds.cli import run_export
from courtfunds.verify import verify_export
from tests.conftest import NATIONWIDE
from tests.exports.conftest import PERIOD, wait_for_jobs
from tests.ledger.conftest import CASE_A


def _body(**fields: Any) -> str:
    return json.dumps(
        {"start": PERIOD["start"].isoformat(), "end": PERIOD["end"].isoformat(), **fields}
    )


def test_a_short_statement_comes_back_made_with_its_links(
    api: Any, token: Any, exports: ExportService, history: LedgerService
) -> None:
    answer = api.post(
        "/exports",
        headers=token("auditor"),
        body=_body(kind="statement", account="4406 0426 0000 0011", format="csv"),
    )
    assert answer.status_code == 201, answer.body
    view = json.loads(answer.body)
    assert view["job"]["status"] == "done"
    assert view["progress"] == 1.0
    assert set(view["downloads"]) == {"statement.csv", "manifest.json"}
    assert answer.headers["Location"] == f"/exports/{view['job']['id']}"
    assert view["job"]["requested_by"] == "auditor-1"


def test_a_journal_is_queued_and_followed_to_done(
    api: Any, token: Any, exports: ExportService, history: LedgerService
) -> None:
    national = token("finance", oversees=NATIONWIDE)
    answer = api.post("/exports", headers=national, body=_body(kind="journal"))
    assert answer.status_code == 202, answer.body
    location = answer.headers["Location"]
    wait_for_jobs(exports)
    view = json.loads(api.get(location, headers=token("auditor", oversees=NATIONWIDE)).body)
    assert view["job"]["status"] == "done"
    assert view["job"]["rows_written"] == 10


def test_bad_requests_are_problems(api: Any, token: Any, exports: ExportService) -> None:
    no_account = api.post("/exports", headers=token("auditor"), body=_body(kind="statement"))
    assert no_account.status_code == 422
    assert "names its account" in json.loads(no_account.body)["detail"]
    backwards = api.post(
        "/exports",
        headers=token("auditor", oversees=NATIONWIDE),
        body=json.dumps(
            {
                "kind": "journal",
                "start": PERIOD["end"].isoformat(),
                "end": PERIOD["start"].isoformat(),
            }
        ),
    )
    assert backwards.status_code == 422
    unknown = api.get("/exports/20261102-0000000000000000", headers=token("auditor"))
    assert unknown.status_code == 404
    assert json.loads(unknown.body)["type"].endswith("exports/not-found")


class ChaliceApi:
    """``courtfunds``'s API client, answered by the app itself instead of over a socket."""

    def __init__(self, api: Any, headers: dict[str, str]) -> None:
        self.api = api
        self.headers = headers
        self.exports: ExportService | None = None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        raw = json.dumps(body) if body is not None else None
        answer = self.api.request(method, path, headers=self.headers, body=raw)
        assert answer.status_code < 300, answer.body
        if method == "POST" and self.exports is not None:
            wait_for_jobs(self.exports)
        return json.loads(answer.body)


def fetch_from_moto(url: str, target: Path) -> None:
    """A presigned link, fetched from moto's S3 (the download itself is plain HTTPS GET)."""
    parsed = urlparse(url)
    bucket = parsed.hostname.split(".")[0] if parsed.hostname else ""
    body = wiring.s3().get_object(Bucket=bucket, Key=unquote(parsed.path.lstrip("/")))["Body"]
    target.write_bytes(body.read())


def test_courtfunds_export_downloads_an_export_that_verifies_offline(
    api: Any, token: Any, exports: ExportService, history: LedgerService, tmp_path: Path
) -> None:
    client = ChaliceApi(api, token("auditor", oversees=NATIONWIDE))
    client.exports = exports
    shown: list[str] = []
    job = run_export(
        client,  # type: ignore[arg-type]
        {
            "kind": "journal",
            "format": "xlsx",
            "start": PERIOD["start"].isoformat(),
            "end": PERIOD["end"].isoformat(),
        },
        tmp_path / "out",
        show=shown.append,
        sleep=lambda _: None,
        fetch=fetch_from_moto,
    )
    assert job["status"] == "done"
    assert "100%" in shown[-1]
    folder = tmp_path / "out"
    assert {p.name for p in folder.iterdir()} == {
        "journal.xlsx",
        "manifest.json",
        "digest.json",
        "public_key.pem",
    }
    findings = verify_export(
        folder,
        (folder / "public_key.pem").read_text(),
        digest_document=(folder / "digest.json").read_bytes(),
    )
    assert findings == []
    assert CASE_A in (folder / "manifest.json").read_text()
