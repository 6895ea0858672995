"""Exports match the ledger exactly, in every format, with a manifest that vouches for them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook

from chalicelib.audit.signing import verify_signature
from chalicelib.exports import ExportFormat, ExportKind, ExportRequest, JobStatus, SignedManifest
from chalicelib.exports.rows import entry_from_row
from chalicelib.exports.service import ExportService
from chalicelib.ledger import LedgerService
from tests.exports.conftest import PERIOD, download, wait_for_jobs
from tests.ledger.conftest import CASE_A, CASE_B, CLEARING, PAYOUTS


def _request(kind: ExportKind, fmt: ExportFormat, account: str | None = None) -> ExportRequest:
    return ExportRequest(kind=kind, format=fmt, account=account, **PERIOD)


def _manifest(service: ExportService, job_id: str) -> SignedManifest:
    raw = service.s3.get_object(Bucket=service.bucket, Key=f"exports/{job_id}/manifest.json")
    return SignedManifest.model_validate_json(raw["Body"].read())


def _file(service: ExportService, job_id: str, name: str) -> bytes:
    raw = service.s3.get_object(Bucket=service.bucket, Key=f"exports/{job_id}/{name}")
    return bytes(raw["Body"].read())


def test_statement_csv_matches_the_ledger_and_keeps_its_chinese(
    exports: ExportService, history: LedgerService
) -> None:
    job = exports.request(
        _request(ExportKind.STATEMENT, ExportFormat.CSV, CASE_A), requested_by="auditor-1"
    )
    assert job.status == JobStatus.DONE  # short: made at once
    data = _file(exports, job.id, "statement.csv")
    assert data.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    stored = [entry for _, entry in history.store.entries(CASE_A)]
    assert [entry_from_row(row) for row in rows] == stored
    assert [row["code_name"] for row in rows] == ["案款收取"] * 3 + ["案款发放"]
    assert [int(row["balance"]) for row in rows] == [10_000, 20_001, 30_003, 29_503]

    manifest = _manifest(exports, job.id)
    assert verify_signature(
        exports.digests.public_key_pem(),
        manifest.manifest.message(),
        __import__("base64").b64decode(manifest.signature),
    )
    [account] = manifest.manifest.accounts
    state = history.store.account_state(CASE_A)
    assert state is not None
    assert (account.first_seq, account.last_seq, account.head_hash) == (1, 4, state.head_hash)
    [control] = manifest.manifest.controls
    assert (control.debits, control.credits, control.rows) == (500, 30_003, 4)
    assert manifest.manifest.files[0].sha256 == __import__("hashlib").sha256(data).hexdigest()
    assert manifest.manifest.digest is not None


def test_journal_jsonl_in_the_background_holds_every_entry_of_every_transfer(
    exports: ExportService, history: LedgerService
) -> None:
    job = exports.request(_request(ExportKind.JOURNAL, ExportFormat.JSONL), requested_by="a-1")
    assert job.status == JobStatus.QUEUED
    wait_for_jobs(exports)
    done = exports.job(job.id)
    assert done.status == JobStatus.DONE
    assert done.rows_written == 10  # five transfers of two legs
    lines = _file(exports, job.id, "journal.jsonl").decode().splitlines()
    rows = [json.loads(line) for line in lines]
    exported = {(r["account_id"], int(r["seq"])): entry_from_row(r) for r in rows}
    for account in (CASE_A, CASE_B, CLEARING, PAYOUTS):
        for seq, entry in history.store.entries(account):
            assert exported.pop((account, seq)) == entry
    assert exported == {}
    # by creation time, then id (the fixed clock gives every transfer the same time)
    transfer_order = [r["transfer_id"] for r in rows[::2]]
    assert transfer_order == ["out-a-1", "pay-a-0", "pay-a-1", "pay-a-2", "pay-b-0"]
    links = exports.links(done)
    assert set(links) == {"journal.jsonl", "manifest.json"}
    assert "X-Amz-Expires=900" in links["journal.jsonl"]


def test_journal_leaves_out_transfers_outside_the_period(
    exports: ExportService, history: LedgerService
) -> None:
    later = ExportRequest(
        kind=ExportKind.JOURNAL,
        format=ExportFormat.JSONL,
        start=PERIOD["end"],
        end=PERIOD["end"].replace(year=2027),
    )
    job = exports.request(later, requested_by="a-1")
    wait_for_jobs(exports)
    assert exports.job(job.id).rows_written == 0


def test_trial_balance_xlsx_adds_up_in_natural_signs(
    exports: ExportService, history: LedgerService, tmp_path: Path, accounts_held: int
) -> None:
    job = exports.request(
        _request(ExportKind.TRIAL_BALANCE, ExportFormat.XLSX), requested_by="finance-1"
    )
    wait_for_jobs(exports)
    folder = download(exports, exports.job(job.id), tmp_path / "tb")
    sheet = load_workbook(folder / "trial_balance.xlsx", read_only=True).worksheets[0]
    header, *values = list(sheet.iter_rows(values_only=True))
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in values}
    assert len(rows) == accounts_held
    assert rows[CASE_A]["account_name"] == "案件账户"
    assert rows[CASE_A]["closing"] == 29_503
    assert rows[CLEARING]["account_name"] == "支付清算款"
    assert rows[CLEARING]["normal_side"] == "debit"
    assert rows[CLEARING]["closing"] == 10_000 + 10_001 + 10_002 + 7_700
    assert rows[PAYOUTS]["closing"] == 500
    credit_normal = sum(r["closing"] for r in rows.values() if r["normal_side"] == "credit")
    debit_normal = sum(r["closing"] for r in rows.values() if r["normal_side"] == "debit")
    assert credit_normal == debit_normal
    assert all(r["opening"] == 0 for r in rows.values())


def test_statement_xlsx_keeps_account_numbers_as_text_and_chinese_intact(
    exports: ExportService, history: LedgerService, tmp_path: Path
) -> None:
    job = exports.request(
        _request(ExportKind.STATEMENT, ExportFormat.XLSX, CASE_B), requested_by="auditor-1"
    )
    folder = download(exports, job, tmp_path / "st")
    sheet = load_workbook(folder / "statement.xlsx", read_only=True).worksheets[0]
    header, row = list(sheet.iter_rows(values_only=True))
    values = dict(zip(header, row, strict=True))
    assert values["account_id"] == CASE_B  # text, not 4.4E+15
    assert values["code_name"] == "案款收取"
    assert entry_from_row(values) == history.store.entries(CASE_B)[0][1]


def test_a_statement_of_an_unknown_account_is_not_found(exports: ExportService) -> None:
    import pytest

    from chalicelib.ledger import AccountNotFound

    with pytest.raises(AccountNotFound):
        exports.request(
            _request(ExportKind.STATEMENT, ExportFormat.CSV, "4406042600000995"),
            requested_by="a",
        )


def test_a_large_file_streams_to_s3_in_parts_of_bounded_size(exports: ExportService) -> None:
    import hashlib
    import os

    from chalicelib.exports.sink import MultipartSink

    part = 5 * 1024 * 1024  # S3's smallest part
    sink = MultipartSink(
        exports.s3, exports.bucket, "exports/parts/big.bin", content_type="x/y", part_bytes=part
    )
    # every byte different from its neighbours' parts, in chunks that straddle part boundaries,
    # so a part sent from the reused buffer after it was refilled would show
    written = b""
    for size in (3_000_001, 4_000_003, 1, 4_500_000):
        chunk = os.urandom(size)
        written += chunk
        assert sink.write(chunk) == size
        assert len(sink._buffer) == part  # one part's buffer, allocated once
    sink.finish()
    stored = exports.s3.get_object(Bucket=exports.bucket, Key="exports/parts/big.bin")
    assert stored["ContentLength"] == len(written)
    data = stored["Body"].read()
    assert data == written
    assert hashlib.sha256(data).hexdigest() == sink.sha256
    assert sink.size == len(written)
    assert len(sink._parts) == 3
