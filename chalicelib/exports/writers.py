"""Writing rows as CSV (UTF-8 with a byte order mark), XLSX (``xlsx.py``) or JSON Lines, to a
byte stream, one row at a time: none of them holds the rows in memory."""

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


def row_writer(fmt: ExportFormat, stream: BinaryIO, columns: list[str], *, title: str) -> RowWriter:
    if fmt == ExportFormat.CSV:
        return CsvRows(stream, columns)
    if fmt == ExportFormat.JSONL:
        return JsonLinesRows(stream, columns)
    from chalicelib.exports.xlsx import XlsxRows

    return XlsxRows(stream, columns, title=title)
