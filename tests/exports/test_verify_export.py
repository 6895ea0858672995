"""``courtfunds verify-export`` finds every altered, missing, inserted or reordered row of a
downloaded export, with its line, and passes an intact one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.audit.signing import LocalKeySigner
from chalicelib.exports import ExportFormat, ExportKind, ExportRequest
from chalicelib.exports.service import ExportService
from chalicelib.ledger import LedgerService
from courtfunds.verify import Finding, verify_export
from tests.conftest import PROJECT_ROOT
from tests.exports.conftest import PERIOD, download, wait_for_jobs
from tests.ledger.conftest import CASE_A


@pytest.fixture
def statement(exports: ExportService, history: LedgerService, tmp_path: Path) -> Path:
    """Case A's statement as CSV: header on line 1, its four entries on lines 2 to 5."""
    job = exports.request(
        ExportRequest(kind=ExportKind.STATEMENT, account=CASE_A, **PERIOD), requested_by="a-1"
    )
    return download(exports, job, tmp_path / "statement")


@pytest.fixture
def journal(exports: ExportService, history: LedgerService, tmp_path: Path) -> Path:
    job = exports.request(
        ExportRequest(kind=ExportKind.JOURNAL, format=ExportFormat.JSONL, **PERIOD),
        requested_by="a-1",
    )
    wait_for_jobs(exports)
    return download(exports, exports.job(job.id), tmp_path / "journal")


def check(folder: Path) -> list[Finding]:
    digest = folder / "digest.json"
    return verify_export(
        folder,
        (folder / "public_key.pem").read_text(),
        digest_document=digest.read_bytes() if digest.exists() else None,
    )


def edit_lines(path: Path, change: object) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(change(lines)))  # type: ignore[operator]


def at(findings: list[Finding], kind: str) -> set[int | None]:
    return {f.line for f in findings if f.kind == kind}


def test_an_intact_export_verifies(statement: Path, journal: Path) -> None:
    assert check(statement) == []
    assert check(journal) == []


def test_a_changed_row_is_caught_on_its_line(statement: Path) -> None:
    def change(lines: list[bytes]) -> list[bytes]:
        lines[2] = lines[2].replace(b",10001,", b",19001,")
        return lines

    edit_lines(statement / "statement.csv", change)
    findings = check(statement)
    assert 3 in at(findings, "altered")
    assert None in at(findings, "file")
    assert None in at(findings, "totals")


def test_a_deleted_row_is_caught_where_it_was(statement: Path) -> None:
    edit_lines(statement / "statement.csv", lambda lines: lines[:2] + lines[3:])
    findings = check(statement)
    missing = [f for f in findings if f.kind == "missing" and f.line == 3]
    assert missing
    assert "entry 2 are missing between lines 2 and 3" in missing[0].detail


def test_an_inserted_row_is_caught_on_its_line(statement: Path) -> None:
    edit_lines(statement / "statement.csv", lambda lines: [*lines[:4], lines[3], *lines[4:]])
    findings = check(statement)
    assert 5 in at(findings, "inserted")
    assert None in at(findings, "inserted")  # and the row count


def test_reordered_rows_are_caught_on_their_line(statement: Path) -> None:
    edit_lines(
        statement / "statement.csv",
        lambda lines: [lines[0], lines[1], lines[3], lines[2], lines[4]],
    )
    findings = check(statement)
    assert at(findings, "reordered") == {4}
    assert "before line 3" in next(f.detail for f in findings if f.kind == "reordered")


def test_reordered_journal_rows_are_caught(journal: Path) -> None:
    edit_lines(journal / "journal.jsonl", lambda lines: [lines[2], *lines[:2], *lines[3:]])
    assert 2 in at(check(journal), "reordered")


def test_a_forged_row_rehashed_along_its_chain_is_caught_by_the_signed_head(
    statement: Path,
) -> None:
    # recompute the last row's hash after changing it: it no longer is the signed head
    from chalicelib.exports.rows import entry_from_row

    path = statement / "statement.csv"
    import csv
    import io

    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    last = rows[-1]
    last["debit"] = str(int(last["debit"]) + 1)
    last["debits_posted"] = str(int(last["debits_posted"]) + 1)
    last["balance"] = str(int(last["balance"]) - 1)
    last["hash"] = entry_from_row(last).computed_hash()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode())
    findings = check(statement)
    assert 5 in at(findings, "altered")  # the signed head, and the digest's published head


def test_another_key_does_not_verify_the_manifest(statement: Path, tmp_path: Path) -> None:
    other = LocalKeySigner(str(tmp_path / "other.pem"))
    (statement / "public_key.pem").write_text(other.public_key_pem())
    kinds = {f.kind for f in check(statement)}
    assert {"signature", "digest"} <= kinds


def test_a_forged_manifest_does_not_verify(statement: Path) -> None:
    manifest = json.loads((statement / "manifest.json").read_text())
    manifest["manifest"]["rows"] += 1
    (statement / "manifest.json").write_text(json.dumps(manifest))
    assert "signature" in {f.kind for f in check(statement)}


def test_the_command_exits_nonzero_and_names_the_line(statement: Path) -> None:
    command = [sys.executable, "-m", "courtfunds", "verify-export", str(statement)]
    clean = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    assert clean.returncode == 0, clean.stderr
    assert "intact" in clean.stdout
    edit_lines(statement / "statement.csv", lambda lines: lines[:2] + lines[3:])
    broken = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    assert broken.returncode == 1
    assert "line 3: missing" in broken.stdout


def test_a_streamed_xlsx_verifies_and_a_cell_changed_in_a_spreadsheet_is_caught(
    exports: ExportService, history: LedgerService, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    job = exports.request(
        ExportRequest(
            kind=ExportKind.STATEMENT, format=ExportFormat.XLSX, account=CASE_A, **PERIOD
        ),
        requested_by="a-1",
    )
    folder = download(exports, job, tmp_path / "xlsx")
    assert check(folder) == []

    # what an auditee with Excel would do: open it, change one amount, save it
    book = load_workbook(folder / "statement.xlsx")
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=3, column=header.index("credit") + 1, value=19_001)
    book.save(folder / "statement.xlsx")
    findings = check(folder)
    assert 3 in at(findings, "altered")
    assert None in at(findings, "file")
