"""The workspace's downloads: CSV streamed as it is read, and XLSX written
row by row to a temporary file (XlsxWriter's constant-memory mode), so that a
run of a million verdicts never sits in memory whole.

Amounts are whole rupiah integers; times are UTC (``2020-06-30T10:00:00Z``).
A text cell that a spreadsheet would take for a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading
``'`` in the CSV; the XLSX writes every text as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

import xlsxwriter  # type: ignore[import-untyped]
from flask import Response, send_file, stream_with_context
from sqlalchemy.orm import Session

from schemas import utc_iso

from ..db import db

ROWS_PER_SHEET = 1_048_576
"""Excel's limit; a longer export goes on over further sheets, each with its header."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FLUSH_EVERY = 1000
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Rows = Callable[[Session], Iterable[Sequence[Any]]]
"""The rows of an export, read with the session it is given."""


def cell(value: Any) -> Any:
    """A value as a CSV cell: int as is, times in UTC, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        return utc_iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text (UTF-8, a header row, CRLF line ends) a thousand rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([cell(value) for value in row])
        if count % _FLUSH_EVERY == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


def csv_response(file_name: str, header: Sequence[str], rows: Rows) -> Response:
    """A CSV download streamed from its own database session as it is read."""

    def generate() -> Iterator[str]:
        with db.sessions() as session:
            yield from csv_chunks(header, rows(session))

    return Response(
        stream_with_context(generate()), mimetype="text/csv", content_type="text/csv; charset=utf-8",
        headers=_attachment(file_name),
    )  # fmt: skip


def write_xlsx(
    target: IO[bytes], sheet: str, header: Sequence[str], rows: Iterable[Sequence[Any]], amounts: Sequence[str] = ()
) -> int:
    """Write the rows as an XLSX workbook to ``target``; how many rows. Columns
    named in ``amounts`` are whole rupiah with thousands separators."""
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0"})
    amount_columns = [n for n, name in enumerate(header) if name in amounts]
    sheets = 0

    def new_sheet() -> Any:
        nonlocal sheets
        sheets += 1
        worksheet = workbook.add_worksheet(sheet[:28] if sheets == 1 else f"{sheet[:24]} ({sheets})")
        for column in amount_columns:
            worksheet.set_column(column, column, 16, money)
        worksheet.write_row(0, 0, header, bold)
        worksheet.freeze_panes(1, 0)
        return worksheet

    worksheet = new_sheet()
    number, string = worksheet.write_number, worksheet.write_string  # typed calls: much faster than write_row
    row_number = 0
    written = 0
    for row in rows:
        row_number += 1
        if row_number >= ROWS_PER_SHEET:
            worksheet = new_sheet()
            number, string = worksheet.write_number, worksheet.write_string
            row_number = 1
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                number(row_number, column, value)
            else:
                string(row_number, column, _xlsx_text(value))
        written += 1
    workbook.close()
    return written


def _xlsx_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return utc_iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def xlsx_response(
    file_name: str, sheet: str, header: Sequence[str], rows: Rows, amounts: Sequence[str] = ()
) -> Response:
    """An XLSX download, written to an anonymous temporary file first (the
    format is a zip that cannot be streamed while it is written)."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response once sent
    try:
        with db.sessions() as session:
            write_xlsx(target, sheet, header, rows(session), amounts)
        target.seek(0)
    except BaseException:
        target.close()
        raise
    response = send_file(target, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=file_name)
    response.headers["Cache-Control"] = "no-store"
    return response
