"""Table downloads: every table page offers its rows as CSV and as an Excel workbook.

A page computes its table once (``Table``: column headings and rows of plain values)
and hands it to ``table_response`` with the format the user asked for. Values stay
unrounded in both formats: numbers as numbers, dates as dates, empty for no value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter
from fastapi.responses import Response

from touchline.errors import InvalidInput
from touchline.i18n import gettext as _

FORMATS = ("csv", "xlsx")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel refuses sheet names over 31 characters and a few punctuation marks.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

Cell = str | int | float | Decimal | date | datetime | bool | None


@dataclass
class Table:
    """A table as a download holds it: a title, column headings and rows of plain values."""

    title: str
    columns: list[str]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)


def wants_download(format: str | None) -> bool:
    """True when ``format`` asks for a download; refuses a format that is not offered."""
    if format in (None, "", "html"):
        return False
    if format not in FORMATS:
        raise InvalidInput(
            _("%(format)s is not a download format here: use csv or xlsx.", format=format),
            field="format",
        )
    return True


def table_csv(table: Table) -> str:
    """Return ``table`` as CSV text, header first; no value is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if value is None else _plain(value) for value in row])
    return out.getvalue()


def _plain(value: Cell) -> str | int | float | Decimal:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value  # type: ignore[return-value]


def table_xlsx(table: Table) -> bytes:
    """Return ``table`` as an Excel workbook of one sheet, headings in bold."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )
    sheet = workbook.add_worksheet(_sheet_name(table.title))
    bold = workbook.add_format({"bold": True})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, table.columns, bold)
    sheet.freeze_panes(1, 0)
    widths = [len(str(column)) for column in table.columns]
    for row_number, row in enumerate(table.rows, start=1):
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(row_number, column, value.replace(tzinfo=None), stamp)
            elif isinstance(value, date):
                sheet.write_datetime(row_number, column, value, day)
            elif isinstance(value, bool):
                sheet.write_boolean(row_number, column, value)
            elif isinstance(value, int | float | Decimal):
                number = float(value)
                if number == number and abs(number) != float("inf"):
                    sheet.write_number(row_number, column, number)
            else:
                # Text always as text: a value starting with "=" must never become a formula.
                sheet.write_string(row_number, column, str(value))
            if column < len(widths):
                widths[column] = max(widths[column], min(len(str(value)), 60))
    for column, width in enumerate(widths):
        sheet.set_column(column, column, width + 2)
    workbook.close()
    return out.getvalue()


def _sheet_name(title: str) -> str:
    cleaned = _SHEET_FORBIDDEN.sub(" ", title).strip().strip("'") or "Touchline"
    return cleaned[:31]


def table_response(table: Table, *, filename: str, format: str) -> Response:
    """Return ``table`` as a download in ``format`` (csv or xlsx), named ``filename``.

    ``filename`` is given without its extension. Refuses an unknown format.
    """
    wants_download(format)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "table"
    if format == "xlsx":
        return Response(
            table_xlsx(table),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{safe}.xlsx"'},
        )
    return Response(
        table_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )
