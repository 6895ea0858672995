"""Reading an export's rows back, with the line each row is on in the file (CSV and XLSX:
the header is line 1; JSON Lines has no header)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chalicelib.exports.requests import ExportFormat

Numbered = tuple[int, dict[str, Any]]


class HeaderMismatch(ValueError):
    pass


def read_rows(path: Path, fmt: ExportFormat, columns: list[str]) -> Iterator[Numbered]:
    if fmt == ExportFormat.CSV:
        yield from _csv_rows(path, columns)
    elif fmt == ExportFormat.JSONL:
        yield from _jsonl_rows(path)
    else:
        yield from _xlsx_rows(path, columns)


def _csv_rows(path: Path, columns: list[str]) -> Iterator[Numbered]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header != columns:
            raise HeaderMismatch(f"the header is {header}, not the manifest's columns")
        for number, values in enumerate(reader, start=2):
            yield number, dict(zip(columns, values, strict=False))


def _jsonl_rows(path: Path) -> Iterator[Numbered]:
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                value = {}
            yield number, value if isinstance(value, dict) else {}


def _xlsx_rows(path: Path, columns: list[str]) -> Iterator[Numbered]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(v) for v in next(rows, ())]
        if header != columns:
            raise HeaderMismatch(f"the header is {header}, not the manifest's columns")
        for number, values in enumerate(rows, start=2):
            yield number, dict(zip(columns, values, strict=False))
    finally:
        book.close()
