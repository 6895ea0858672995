"""An XLSX workbook of one sheet, written row by row straight into a byte stream.

An XLSX file is a zip of XML parts; the sheet's part is deflated into the stream as rows
come, with each text cell written inline (no shared-strings table, which would have to hold
every distinct text until the end), so memory stays one batch of rows whatever the size.
Integers are number cells; every other value is text, so a 16-digit account number is never
shown as 4.4E+15. The zip works on a stream that cannot seek (each part ends with a data
descriptor), such as an S3 multipart upload.
"""

from __future__ import annotations

import re
import zipfile
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from chalicelib.exports.errors import ExportError

MAX_ROWS = 1_048_576  # the most rows a sheet holds, in Excel and in the file format
BATCH_ROWS = 500  # rows joined before one write into the deflater: fewer, larger calls

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOCUMENT = f"{_RELS}/officeDocument"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

CONTENT_TYPES = (
    _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/></Types>'
)
ROOT_RELS = (
    _HEAD + f'<Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOCUMENT}" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK_RELS = (
    _HEAD + f'<Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="styles.xml"/></Relationships>'
)
# The least stylesheet Excel accepts: one font, the two fills it requires, one border, one format.
STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
# Characters XML 1.0 cannot carry at all; a ledger value holding one is refused, not altered.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class XlsxTooLarge(ExportError):
    """More rows than one sheet can hold: the auditor asks for CSV, JSON Lines or a shorter
    period instead."""


def _workbook(title: str) -> str:
    return (
        _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>'
        f'<sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>"
    )


def column_letters(count: int) -> list[str]:
    """A, B, ..., Z, AA, ...: the names of the first ``count`` columns."""
    letters = []
    for number in range(1, count + 1):
        name, index = "", number
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


def _cell(ref: str, value: Any) -> str:
    """One cell at ``ref`` (like ``B7``): every cell names its place, as Excel writes them."""
    if type(value) is int:
        return f'<c r="{ref}"><v>{value}</v></c>'
    if value is None:
        # still written, so a reader that does not know the sheet's size (not known until the
        # end, so not written) sees every row as wide as its columns
        return f'<c r="{ref}"/>'
    text = str(value)
    space = ' xml:space="preserve"' if text != text.strip() else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


class XlsxRows:
    """Rows of values, in the columns' order, into one sheet named ``title``."""

    def __init__(self, stream: BinaryIO, columns: list[str], *, title: str) -> None:
        self._zip = zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", _workbook(title[:31])),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/styles.xml", STYLES),
        ):
            self._zip.writestr(name, text)
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w")
        self._sheet.write(f'{_HEAD}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
        self._columns = columns
        self._letters = column_letters(len(columns))
        self._number = 0
        self._batch: list[str] = []
        self._row(columns)

    def _row(self, values: list[Any]) -> None:
        self._number += 1
        if self._number > MAX_ROWS:
            raise XlsxTooLarge(
                f"an XLSX sheet holds at most {MAX_ROWS:,} rows: export CSV or JSON Lines, "
                "or a shorter period"
            )
        number = self._number
        cells = "".join(
            [
                _cell(f"{letter}{number}", value)
                for letter, value in zip(self._letters, values, strict=True)
            ]
        )
        if _NOT_XML.search(cells):
            raise ValueError(f"row {self._number} holds a character XML cannot carry")
        self._batch.append(f'<row r="{number}">{cells}</row>')
        if len(self._batch) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        self._sheet.write("".join(self._batch).encode())
        self._batch.clear()

    def write(self, row: dict[str, Any]) -> None:
        self._row([row[column] for column in self._columns])

    def close(self) -> None:
        self._flush()
        self._sheet.write(b"</sheetData></worksheet>")
        self._sheet.close()
        self._zip.close()
