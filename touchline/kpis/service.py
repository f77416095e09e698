"""What the KPI pages and API share: choosing periods, reading forms, tables to download."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from touchline.config import get_settings
from touchline.errors import InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.heatmap import Heatmap
from touchline.kpis.overview import Overview
from touchline.kpis.scorecards import CardLine, level_label
from touchline.org.periods import Period, PeriodError, PeriodKind, parse_period, period_containing
from touchline.web.exports import Cell, Table


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


def heatmap_table(heatmap: Heatmap) -> Table:
    """Return the heatmap as a table: per seller the balanced index and each KPI's actual,
    target and attainment, unrounded."""
    columns = ["seller_id", "seller", "balanced_index"]
    fair = heatmap.view == "fair"
    for kpi in heatmap.columns:
        columns += [f"{kpi.code}_actual", f"{kpi.code}_target", f"{kpi.code}_attainment"]
        if fair and kpi.level == "result":
            columns.append(f"{kpi.code}_fair_ratio")
    rows = []
    for card in heatmap.cards:
        row: list[Cell] = [card.seller.external_id, card.seller.name, card.balanced_index]
        for kpi in heatmap.columns:
            line = heatmap.cell(card, kpi)
            row += [line.actual, line.target, line.attainment] if line else [None, None, None]
            if fair and kpi.level == "result":
                cell = heatmap.fair_cell(card, kpi)
                row.append(cell[0] if cell else None)
        rows.append(row)
    return Table(f"{heatmap.unit.name} {heatmap.period.label}", columns, rows)


def overview_table(overview: Overview) -> Table:
    """Return the company overview as a table: per unit each KPI now and the period before."""
    columns = ["unit_id", "unit"]
    for kpi, _name in overview.columns:
        columns += [f"{kpi.code}_{overview.period.label}", f"{kpi.code}_{overview.previous.label}"]
    rows = []
    for item in overview.rows:
        cells: list[Cell] = [item.external_id or "company", item.name or _("The company")]
        for kpi, _name in overview.columns:
            cells += list(item.values[kpi.id])
        rows.append(cells)
    return Table(f"{_('Overview')} {overview.period.label}", columns, rows)


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


def card_table(title: str, lines: list[CardLine]) -> Table:
    """Return a card's lines as a table: level, KPI, actual, target, attainment, light,
    weight and the decision rule, unrounded."""
    return Table(
        title=title,
        columns=[
            "level",
            "kpi",
            "name",
            "actual",
            "target",
            "attainment_percent",
            "light",
            "weight",
            "decision_rule",
        ],
        rows=[
            [
                level_label(line.kpi.level),
                line.kpi.code,
                display_name(line.kpi),
                line.actual,
                line.target,
                line.attainment,
                line.light,
                line.weight,
                line.decision_rule,
            ]
            for line in lines
        ],
    )
