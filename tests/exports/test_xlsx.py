"""The streamed XLSX is a workbook openpyxl (and so Excel) opens: text stays text, Chinese
intact, numbers numbers, written to a stream that cannot seek, such as an S3 upload."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook

from chalicelib.exports import xlsx
from chalicelib.exports.xlsx import XlsxRows, XlsxTooLarge, column_letters

COLUMNS = ["account_id", "code_name", "debit", "note", "empty"]


class OneWayStream(io.RawIOBase):
    """Accepts writes and says how far it is, nothing more: no seek, no read."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.data += bytes(chunk)
        return len(chunk)

    def tell(self) -> int:
        return len(self.data)


def _write(rows: list[dict[str, Any]], *, title: str = "statement") -> bytes:
    stream = OneWayStream()
    writer = XlsxRows(stream, COLUMNS, title=title)  # type: ignore[arg-type]
    for row in rows:
        writer.write(row)
    writer.close()
    return bytes(stream.data)


ROWS = [
    {"account_id": "4406042600000011", "code_name": "案款收取", "debit": 0, "note": "a & b < c",
     "empty": None},
    {"account_id": "SYS-CLEARING-CNY", "code_name": "案款发放", "debit": 123_456_789_012,
     "note": "  留空格  ", "empty": None},
]  # fmt: skip


@pytest.mark.parametrize("read_only", [True, False])
def test_openpyxl_reads_back_every_value_with_its_type(read_only: bool) -> None:
    many = ROWS * 700  # more than one batch of rows
    book = load_workbook(io.BytesIO(_write(many, title="日记账")), read_only=read_only)
    [sheet] = book.worksheets
    assert sheet.title == "日记账"
    header, *values = list(sheet.iter_rows(values_only=True))
    assert list(header) == COLUMNS
    assert len(values) == len(many)
    for got, want in zip(values, many, strict=True):
        assert dict(zip(COLUMNS, got, strict=True)) == want
    assert isinstance(values[0][0], str)  # a 16-digit account number stays text
    assert isinstance(values[1][2], int)


def test_the_file_is_a_zip_with_the_parts_excel_needs() -> None:
    with zipfile.ZipFile(io.BytesIO(_write(ROWS))) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert names == {
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
    }
    assert "sharedStrings" not in sheet
    assert '<row r="3"><c r="A3" t="inlineStr"><is><t>SYS-CLEARING-CNY</t></is></c>' in sheet
    assert '<c r="C3"><v>123456789012</v></c>' in sheet
    assert '<c r="E3"/></row>' in sheet


def test_a_value_xml_cannot_carry_is_refused_not_altered() -> None:
    with pytest.raises(ValueError, match="row 2"):
        _write([{**ROWS[0], "code_name": "bell\x07"}])


def test_column_letters_run_past_z() -> None:
    letters = column_letters(703)
    assert letters[:3] == ["A", "B", "C"]
    assert letters[25:28] == ["Z", "AA", "AB"]
    assert letters[701:] == ["ZZ", "AAA"]


def test_more_rows_than_a_sheet_holds_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    with pytest.raises(XlsxTooLarge, match="CSV or JSON Lines"):
        _write(ROWS * 2)
