"""What the KPI pages and API share: choosing periods, tables as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.responses import Response

from touchline.config import get_settings
from touchline.errors import InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis.heatmap import Heatmap
from touchline.kpis.overview import Overview
from touchline.org.periods import Period, PeriodError, PeriodKind, parse_period, period_containing


def current_quarter() -> Period:
    """Return the fiscal quarter running today in the company's time zone."""
    settings = get_settings()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    return period_containing(
        today, PeriodKind.QUARTER, fiscal_start_month=settings.fiscal_year_start_month
    )


def chosen_period(label: str | None) -> Period:
    """Return the period named by ``label``, or the running quarter; refuses a bad label."""
    if not label:
        return current_quarter()
    try:
        return parse_period(label, fiscal_start_month=get_settings().fiscal_year_start_month)
    except PeriodError as error:
        raise InvalidInput(str(error), field="period") from None


def period_choices(chosen: Period) -> list[Period]:
    """Return periods to offer next to ``chosen``: recent quarters, months and the year."""
    quarter = current_quarter()
    quarters = [quarter]
    while len(quarters) < 6:
        quarters.append(quarters[-1].previous())
    months = quarter.months()
    year = period_containing(
        quarter.start, PeriodKind.YEAR, fiscal_start_month=quarter.fiscal_start_month
    )
    found = [*quarters, *months, year, year.previous()]
    if chosen.label not in {p.label for p in found}:
        found.insert(0, chosen)
    return found


def heatmap_csv(heatmap: Heatmap) -> str:
    """Return the heatmap as CSV: per seller the balanced index and each KPI's actual,
    target and attainment, unrounded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["seller_id", "seller", "balanced_index"]
    for kpi in heatmap.columns:
        header += [f"{kpi.code}_actual", f"{kpi.code}_target", f"{kpi.code}_attainment"]
    writer.writerow(header)
    for card in heatmap.cards:
        row: list[object] = [card.seller.external_id, card.seller.name, card.balanced_index]
        for kpi in heatmap.columns:
            line = heatmap.cell(card, kpi)
            row += [line.actual, line.target, line.attainment] if line else ["", "", ""]
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()


def csv_response(text: str, filename: str) -> Response:
    """Return ``text`` as a CSV download called ``filename``."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def overview_csv(overview: Overview) -> str:
    """Return the company overview as CSV: per unit each KPI now and the period before."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["unit_id", "unit"]
    for kpi, _name in overview.columns:
        header += [f"{kpi.code}_{overview.period.label}", f"{kpi.code}_{overview.previous.label}"]
    writer.writerow(header)
    for row in overview.rows:
        cells: list[object] = [row.external_id, row.name or "company"]
        for kpi, _name in overview.columns:
            cells += list(row.values[kpi.id])
        writer.writerow(["" if value is None else value for value in cells])
    return out.getvalue()


def form_int(text: str, field: str) -> int | None:
    """Return the whole number typed in a form field, None when empty; refuses other text."""
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(_("%(value)s is not a whole number.", value=text), field=field) from None


def form_number(text: str, field: str) -> float | None:
    """Return the number typed in a form field (comma or point), None when empty."""
    if not text.strip():
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise InvalidInput(_("%(value)s is not a number.", value=text), field=field) from None
