"""Writing rows as CSV (UTF-8 with a byte order mark), XLSX or JSON Lines, to a byte stream,
one row at a time: none of them holds the rows in memory."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, BinaryIO, Protocol

from chalicelib.exports.requests import ExportFormat

CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.JSONL: "application/jsonl; charset=utf-8",
}


class RowWriter(Protocol):
    def write(self, row: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class CsvRows:
    def __init__(self, stream: BinaryIO, columns: list[str]) -> None:
        # utf-8-sig writes the byte order mark that tells Excel the file is UTF-8
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        self._columns = columns
        self._csv.writerow(columns)

    def write(self, row: dict[str, Any]) -> None:
        self._csv.writerow([row[c] for c in self._columns])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class JsonLinesRows:
    def __init__(self, stream: BinaryIO, columns: list[str]) -> None:
        self._stream = stream
        self._columns = columns

    def write(self, row: dict[str, Any]) -> None:
        line = json.dumps({c: row[c] for c in self._columns}, ensure_ascii=False)
        self._stream.write(line.encode() + b"\n")

    def close(self) -> None:
        self._stream.flush()


class XlsxRows:
    """openpyxl in write-only mode: each row goes to a temporary file as it is appended, and
    saving zips that file into the stream."""

    def __init__(self, stream: BinaryIO, columns: list[str], *, title: str) -> None:
        from openpyxl import Workbook

        self._stream = stream
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=title[:31])
        self._columns = columns
        self._sheet.append(columns)

    def write(self, row: dict[str, Any]) -> None:
        # ids and hashes stay text, so Excel never turns a 16-digit account number into 4.4E+15
        self._sheet.append([row[c] for c in self._columns])

    def close(self) -> None:
        self._book.save(self._stream)


def row_writer(fmt: ExportFormat, stream: BinaryIO, columns: list[str], *, title: str) -> RowWriter:
    if fmt == ExportFormat.CSV:
        return CsvRows(stream, columns)
    if fmt == ExportFormat.JSONL:
        return JsonLinesRows(stream, columns)
    return XlsxRows(stream, columns, title=title)
