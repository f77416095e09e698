"""HTML routes of the fair comparison (``/analytics/fair``) and the KPI effectiveness
(``/analytics/effectiveness``): the stored results of a period, filtered to the viewer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from touchline.analytics.fair_service import (
    EffectivenessView,
    FairView,
    effectiveness_view,
    fair_view,
    family_label,
    measure_label,
    term_label,
)
from touchline.analytics.fairness import MAIN_RESULT
from touchline.deps import Db, ManagerUp
from touchline.errors import InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis.service import chosen_period, period_choices
from touchline.web.exports import Cell, Table, table_response, wants_download
from touchline.web.templating import render

router = APIRouter()
TABLES = ("sellers", "units", "model", "frontier")


def sellers_table(found: FairView) -> Table:
    """Return the seller leaderboard, raw and fair, unrounded."""
    rows: list[list[Cell]] = [
        [
            r.external_id,
            r.name,
            r.unit,
            r.actual,
            r.expected,
            r.ratio,
            r.raw_rank,
            r.fair_rank,
        ]
        for r in found.sellers
    ]
    return Table(
        f"{_('Fair comparison')} {found.code} {found.period.label}",
        ["seller_id", "seller", "unit", "actual", "expected", "ratio", "raw_rank", "fair_rank"],
        rows,
    )


def units_table(found: FairView) -> Table:
    """Return the teams compared raw and fair, unrounded."""
    rows: list[list[Cell]] = [
        [
            u.external_id,
            u.name,
            u.sellers,
            u.actual_mean,
            u.expected_mean,
            u.raw_ratio,
            u.fair_ratio,
            u.weight,
            u.raw_rank,
            u.fair_rank,
        ]
        for u in found.units
    ]
    columns = [
        "unit_id",
        "unit",
        "sellers",
        "actual_mean",
        "expected_mean",
        "raw_ratio",
        "fair_ratio_shrunk",
        "shrinkage_weight",
        "raw_rank",
        "fair_rank",
    ]
    return Table(f"{_('Units')} {found.code} {found.period.label}", columns, rows)


def model_table(found: FairView) -> Table:
    """Return the model's coefficients with their 95 % intervals."""
    rows: list[list[Cell]] = [
        [c["term"], c["estimate"], c["low"], c["high"], c["p_value"]] for c in found.coefficients
    ]
    return Table(
        _("Model %(kpi)s %(period)s", kpi=found.code, period=found.period.label),
        ["term", "estimate", "ci_low", "ci_high", "p_value"],
        rows,
    )


def frontier_table(found: FairView) -> Table:
    """Return each visible seller's efficiency on the frontier and their visible peers."""
    rows: list[list[Cell]] = [
        [
            r.external_id,
            r.name,
            r.unit,
            r.score,
            "; ".join(name or _("a seller in another unit") for name in r.peers),
        ]
        for r in found.frontier
    ]
    return Table(
        _("Frontier %(period)s", period=found.period.label),
        ["seller_id", "seller", "unit", "efficiency", "peers"],
        rows,
    )


def scatter_table(found: FairView) -> Table:
    rows: list[list[Cell]] = [
        [r.name, r.expected, r.actual, r.ratio] for r in found.sellers if r.expected is not None
    ]
    return Table(
        _("Expected and actual"), [_("Seller"), _("Expected"), _("Actual"), _("Ratio")], rows
    )


def scatter_option(found: FairView) -> dict[str, object]:
    """Return the ECharts option of expected (x) against actual (y), with the diagonal."""
    points = [
        {"name": r.name, "value": [r.expected, r.actual]}
        for r in found.sellers
        if r.expected is not None and r.actual is not None
    ]
    top = max([max(p["value"]) for p in points], default=1.0)  # type: ignore[type-var]
    return {
        "animation": False,
        "tooltip": {"trigger": "item"},
        "grid": {"left": 70, "right": 20, "top": 20, "bottom": 50},
        "xAxis": {"type": "value", "name": _("Expected"), "nameLocation": "middle", "nameGap": 30},
        "yAxis": {"type": "value", "name": _("Actual"), "nameLocation": "middle", "nameGap": 55},
        "series": [
            {"type": "scatter", "name": _("Sellers"), "symbolSize": 7, "data": points},
            {
                "type": "line",
                "name": _("Actual = expected"),
                "data": [[0, 0], [top, top]],
                "symbol": "none",
                "lineStyle": {"type": "dashed"},
            },
        ],
    }


@router.get("/analytics/fair")
def fair_page(
    request: Request,
    db: Db,
    actor: ManagerUp,
    period: str | None = None,
    kpi: str = MAIN_RESULT,
    view: str = "fair",
    table: str = "sellers",
    format: str | None = None,
) -> Response:
    chosen = chosen_period(period)
    found = fair_view(db, actor=actor, period=chosen, code=kpi, view=view)
    if wants_download(format):
        builders = {
            "sellers": sellers_table,
            "units": units_table,
            "model": model_table,
            "frontier": frontier_table,
        }
        if table not in builders:
            raise InvalidInput(
                _("The table is one of %(tables)s.", tables=", ".join(TABLES)), field="table"
            )
        return table_response(
            builders[table](found),
            filename=f"fair-{table}-{found.code}-{chosen.label}",
            format=str(format),
        )
    context = {
        "fair": found,
        "periods": period_choices(chosen),
        "scatter": scatter_option(found),
        "scatter_table": scatter_table(found),
        "measure_label": measure_label,
        "family_label": family_label,
        "term_label": term_label,
    }
    return render(request, "analytics/fair.html", context)


def effectiveness_table(found: EffectivenessView) -> Table:
    rows: list[list[Cell]] = [
        [
            k["code"],
            found.names.get(k["code"], k["name"]),
            k["level"],
            k["rho"],
            k["low"],
            k["high"],
            k["p_value"],
            len(k["pairs"]),
            k["sellers"],
            k["verdict"],
        ]
        for k in found.kpis
    ]
    columns = [
        "kpi",
        "name",
        "level",
        "rho",
        "ci_low",
        "ci_high",
        "p_value",
        "pairs",
        "sellers",
        "verdict",
    ]
    return Table(f"{_('KPI effectiveness')} {found.period.label}", columns, rows)


def effectiveness_option(found: EffectivenessView) -> dict[str, object]:
    """Return the ECharts option: per KPI its pooled rho as a bar, the interval as marks."""
    shown = [k for k in found.kpis if k["rho"] is not None]
    names = [found.names.get(k["code"], k["name"]) for k in shown]
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 190, "right": 30, "top": 20, "bottom": 30},
        "xAxis": {"type": "value", "min": -1, "max": 1},
        "yAxis": {"type": "category", "data": names, "inverse": True},
        "series": [
            {
                "type": "bar",
                "name": "rho",
                "data": [
                    {
                        "value": round(k["rho"], 3),
                        "itemStyle": {
                            "color": "#9aa5b1" if k["verdict"] == "only_statistics" else "#2f6f9f"
                        },
                    }
                    for k in shown
                ],
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "data": [
                        {"xAxis": -found.threshold},
                        {"xAxis": found.threshold},
                    ],
                    "lineStyle": {"type": "dashed"},
                },
            },
            {
                "type": "scatter",
                "name": _("95 % interval, low"),
                "symbol": "rect",
                "symbolSize": [2, 12],
                "data": [[round(k["low"], 3), n] for k, n in zip(shown, names, strict=True)],
            },
            {
                "type": "scatter",
                "name": _("95 % interval, high"),
                "symbol": "rect",
                "symbolSize": [2, 12],
                "data": [[round(k["high"], 3), n] for k, n in zip(shown, names, strict=True)],
            },
        ],
    }


@router.get("/analytics/effectiveness")
def effectiveness_page(
    request: Request, db: Db, actor: ManagerUp, period: str | None = None, format: str | None = None
) -> Response:
    chosen = chosen_period(period)
    found = effectiveness_view(db, actor=actor, period=chosen)
    table = effectiveness_table(found)
    if wants_download(format):
        return table_response(table, filename=f"effectiveness-{chosen.label}", format=str(format))
    context = {
        "found": found,
        "periods": period_choices(chosen),
        "option": effectiveness_option(found),
        "table": table,
    }
    return render(request, "analytics/effectiveness.html", context)
