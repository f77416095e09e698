"""Table downloads: the same rows as CSV and as an Excel workbook, unrounded."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest

from touchline.errors import InvalidInput
from touchline.web.exports import Table, table_csv, table_response, table_xlsx, wants_download


def _table() -> Table:
    return Table(
        title="Heatmap: Team One / 2026-Q2",
        columns=["seller_id", "name", "revenue", "win_rate", "since", "active"],
        rows=[
            ["S1", "Anne", Decimal("1234.56"), 0.123456789, date(2026, 4, 1), True],
            ["S2", "=cmd()", None, None, datetime(2026, 5, 2, 9, 30, tzinfo=UTC), False],
        ],
    )


def test_csv_keeps_every_value_unrounded_and_leaves_no_value_empty():
    text = table_csv(_table())
    assert text.splitlines() == [
        "seller_id,name,revenue,win_rate,since,active",
        "S1,Anne,1234.56,0.123456789,2026-04-01,true",
        "S2,=cmd(),,,2026-05-02T09:30:00+00:00,false",
    ]


def test_excel_holds_numbers_as_numbers_dates_as_dates_and_text_never_as_a_formula():
    workbook = openpyxl.load_workbook(io.BytesIO(table_xlsx(_table())))
    sheet = workbook.active
    assert sheet.title == "Heatmap  Team One   2026-Q2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("seller_id", "name", "revenue", "win_rate", "since", "active")
    assert rows[1][2] == pytest.approx(1234.56)
    assert rows[1][3] == pytest.approx(0.123456789)
    assert rows[1][4] == datetime(2026, 4, 1, tzinfo=UTC).replace(tzinfo=None)
    assert rows[1][5] is True
    assert rows[2][1] == "=cmd()"
    assert sheet.cell(row=3, column=2).data_type == "s"
    assert rows[2][2] is None


def test_a_download_names_its_file_and_type():
    response = table_response(_table(), filename="heatmap T1/2026-Q2", format="xlsx")
    assert response.headers["content-disposition"] == (
        'attachment; filename="heatmap-T1-2026-Q2.xlsx"'
    )
    assert response.media_type.startswith("application/vnd.openxmlformats")
    assert table_response(_table(), filename="x", format="csv").media_type.startswith("text/csv")


def test_an_unknown_format_is_refused_by_name():
    assert not wants_download(None)
    assert not wants_download("html")
    with pytest.raises(InvalidInput, match="pdf is not a download format"):
        wants_download("pdf")


def test_the_users_page_downloads_its_table(db, client):
    from tests.conftest import sign_in
    from tests.factories import PASSWORD, make_org

    make_org(db)
    sign_in(client, "admin@example.com", PASSWORD)
    assert "format=xlsx" in client.get("/admin/users").text
    rows = client.get("/admin/users?format=csv").text.splitlines()
    assert rows[0] == "email,name,role,seller_id,active,last_sign_in"
    assert any(row.startswith("manager@example.com,") and ",M1,true," in row for row in rows)
    workbook = openpyxl.load_workbook(io.BytesIO(client.get("/admin/users?format=xlsx").content))
    assert workbook.active.max_row == len(rows)
