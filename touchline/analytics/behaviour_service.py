"""What the pages and the API show of the success behaviours, and the one-click proposal
to make one a behavioural KPI with the top performers' median as its target.

The comparison itself is company-wide (it needs every field seller); a viewer sees its
figures, which are group statistics, and by name only the top performers they may see
(a manager: those of their own units).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.analytics.behaviours import (
    DERIVED_RATIOS,
    KEY,
    NO_DIFFERENCE,
    OPPOSITE,
    SUCCESS,
    TOO_FEW,
    Shown,
)
from touchline.analytics.registry import Payload, stored
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.errors import Conflict, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.assignments import LineSpec, get_template, save_template, template_lines
from touchline.kpis.catalogue import create_kpi, display_name
from touchline.kpis.display import format_kpi_value
from touchline.kpis.metrics import Direction, Level, Unit
from touchline.kpis.models import (
    Kpi,
    KpiKind,
    KpiSource,
    KpiStatus,
    ScorecardTemplate,
    TimeAggregation,
)
from touchline.kpis.schemas import KpiCreate
from touchline.kpis.scorecards import QUARTER_SHARE, max_card_kpis
from touchline.org.models import Seller
from touchline.org.periods import Period
from touchline.web.exports import Table

# A line's target this close to the proposed one counts as the same (relative).
SAME_TARGET = 1e-6
DEFAULT_WEIGHT = 10.0


def status_label(status: str) -> str:
    """Return a verdict as the page says it."""
    return {
        SUCCESS: _("Success behaviour"),
        OPPOSITE: _("Top performers show less of it"),
        NO_DIFFERENCE: _("No difference found"),
        TOO_FEW: _("Too few values to say"),
    }.get(status, status)


def kpi_status_label(status: str | None) -> str:
    return {
        KpiStatus.DRAFT: _("draft"),
        KpiStatus.ACTIVE: _("active"),
        KpiStatus.RETIRED: _("retired"),
    }.get(KpiStatus(status) if status else KpiStatus.DRAFT, status or "")


def kind_label(kind: str) -> str:
    return {
        "activity": _("Activity"),
        "quality": _("Quality ratio"),
        "funnel": _("Funnel conversion"),
        "soft": _("Soft KPI rating"),
    }.get(kind, kind)


def evidence_label(evidence: str, previous: str | None, period: str) -> str:
    if evidence == "leading":
        return _(
            "behaviour in %(before)s against the fair result in %(period)s",
            before=previous or "–",
            period=period,
        )
    return _("behaviour and fair result both in %(period)s", period=period)


@dataclass
class MeasureView:
    """One measure as the page shows it, in the current language."""

    row: dict[str, Any]
    name: str
    # Where the measure is a KPI: the templates carrying it, with their targets.
    on_templates: list[tuple[str, float | None]] = field(default_factory=list)
    # The KPI exists in the catalogue (for a derived ratio: once proposed).
    in_catalogue: bool = False
    catalogue_status: str | None = None
    # The target a card line would get (a quarter's worth for a count), when it differs.
    card_target: float | None = None

    @property
    def code(self) -> str:
        return str(self.row["code"])

    @property
    def status(self) -> str:
        return str(self.row["status"])

    @property
    def deciding(self) -> dict[str, Any]:
        return dict(self.row[self.row["evidence"]])

    def value(self, number: float | None) -> str:
        shown = Shown(self.row["unit"], self.row["decimals"])
        if shown.unit in ("count", "money") and number is not None and number != int(number):
            shown = Shown(shown.unit, 1)
        return format_kpi_value(number, shown)

    @property
    def target_text(self) -> str:
        return self.value(self.row.get("target"))


@dataclass
class BehaviourReport:
    """The success behaviours of a period as ``actor`` may see them."""

    period: Period
    computed_at: datetime | None
    payload: Payload | None
    measures: list[MeasureView] = field(default_factory=list)
    top_sellers: list[Seller] = field(default_factory=list)
    templates: list[ScorecardTemplate] = field(default_factory=list)

    @property
    def computed(self) -> bool:
        return self.payload is not None

    @property
    def successes(self) -> list[MeasureView]:
        return [m for m in self.measures if m.status == SUCCESS]

    @property
    def others(self) -> list[MeasureView]:
        return [m for m in self.measures if m.status != SUCCESS]


def _measure_name(row: dict[str, Any], kpis: dict[str, Kpi]) -> str:
    kpi = kpis.get(row["code"])
    return display_name(kpi) if kpi is not None else _(str(row["name"]))


def _card_target(row: dict[str, Any], kpi: Kpi | None, period: Period) -> float | None:
    if kpi is None or row.get("target") is None:
        return None
    target = card_target(row, kpi, period)
    return target if not math.isclose(target, row["target"]) else None


def behaviour_report(session: Session, *, actor: Actor, period: Period) -> BehaviourReport:
    """Return the stored success behaviours of ``period`` for ``actor`` (managers up).

    The figures are company-wide; of the top performers only those the actor may see
    are named. Before a run the report says it is not computed.
    """
    actor.require(Role.MANAGER)
    found = stored(session, period, KEY)
    if found is None:
        return BehaviourReport(period, None, None)
    payload = found.payload
    rows = payload.get("measures", [])
    codes = [row["code"] for row in rows]
    kpis = {kpi.code: kpi for kpi in session.scalars(select(Kpi).where(Kpi.code.in_(codes)))}
    templates = list(session.scalars(select(ScorecardTemplate).order_by(ScorecardTemplate.name)))
    names = {t.id: t.name for t in templates}
    carried: dict[int, list[tuple[str, float | None]]] = {}
    for template_id, lines in template_lines(session).items():
        for line in lines:
            carried.setdefault(line.kpi_id, []).append((names[template_id], line.target))
    views = []
    for row in rows:
        kpi = kpis.get(row["code"])
        views.append(
            MeasureView(
                row,
                _measure_name(row, kpis),
                on_templates=carried.get(kpi.id, []) if kpi is not None else [],
                in_catalogue=kpi is not None,
                catalogue_status=kpi.status if kpi is not None else None,
                card_target=_card_target(row, kpi, period),
            )
        )
    top_ids = payload.get("top_sellers", [])
    top = (
        list(
            session.scalars(
                select(Seller)
                .where(Seller.id.in_(top_ids), actor.sellers_clause())
                .order_by(Seller.name)
            )
        )
        if top_ids
        else []
    )
    return BehaviourReport(
        period,
        found.computed_at,
        payload,
        views,
        top,
        templates if actor.at_least(Role.LEADER) else [],
    )


# --- tables and the forest plot ------------------------------------------------------------

_SIDES = ("n_top", "n_rest", "median_top", "median_rest", "g", "g_low", "g_high", "delta")


def behaviour_table(report: BehaviourReport) -> Table:
    """Return every measure with both comparisons, unrounded."""
    columns = ["rank", "measure", "name", "kind", "status", "evidence", "target"]
    for key in ("leading", "concurrent"):
        columns += [f"{key}_{name}" for name in (*_SIDES, "p", "q")]
    rows = []
    for measure in report.measures:
        row = measure.row
        cells: list[Any] = [
            row["rank"],
            row["code"],
            measure.name,
            row["kind"],
            row["status"],
            row["evidence"],
            row["target"],
        ]
        for key in ("leading", "concurrent"):
            cells += [row[key].get(name) for name in (*_SIDES, "p", "q")]
        rows.append(cells)
    return Table(_("Success behaviours"), columns, rows)


def forest_table(report: BehaviourReport) -> Table:
    """Return the numbers of the forest plot: g and its interval per measure."""
    return Table(
        _("Effect sizes"),
        [_("Measure"), _("Verdict"), "g", _("Low"), _("High"), "q"],
        [
            [
                m.name,
                status_label(m.status),
                m.deciding.get("g"),
                m.deciding.get("g_low"),
                m.deciding.get("g_high"),
                m.deciding.get("q"),
            ]
            for m in report.measures
            if m.deciding.get("g") is not None
        ],
    )


COLOURS = {SUCCESS: "#2e7d32", OPPOSITE: "#c62828", NO_DIFFERENCE: "#757575"}


def forest_option(report: BehaviourReport) -> dict[str, Any]:
    """Return the ECharts option of the forest plot: Hedges' g with its interval, the
    deciding comparison of each measure, rank 1 at the top."""
    shown = [m for m in report.measures if m.deciding.get("g") is not None][::-1]
    return {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 190, "right": 24, "top": 16, "bottom": 40},
        "xAxis": {
            "type": "value",
            "name": _("Hedges' g (top performers against the rest)"),
            "nameLocation": "middle",
            "nameGap": 26,
        },
        "yAxis": {"type": "category", "data": [m.name for m in shown]},
        "series": [
            {
                "name": _("95 % interval"),
                "type": "boxplot",
                "boxWidth": [2, 6],
                "data": [
                    {
                        "value": [
                            m.deciding["g_low"],
                            m.deciding["g_low"],
                            m.deciding["g"],
                            m.deciding["g_high"],
                            m.deciding["g_high"],
                        ],
                        "itemStyle": {
                            "color": COLOURS.get(m.status, "#757575"),
                            "borderColor": COLOURS.get(m.status, "#757575"),
                        },
                    }
                    for m in shown
                ],
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "label": {"show": False},
                    "data": [{"xAxis": 0}],
                    "lineStyle": {"type": "dashed", "color": "#424242"},
                },
            },
            {
                "name": "g",
                "type": "scatter",
                "symbolSize": 12,
                "z": 3,
                "data": [
                    {
                        "value": [m.deciding["g"], index],
                        "itemStyle": {
                            "color": COLOURS.get(m.status, "#757575"),
                            "borderColor": "#ffffff",
                            "borderWidth": 2,
                        },
                    }
                    for index, m in enumerate(shown)
                ],
            },
        ],
    }


# --- the one-click proposal --------------------------------------------------------------


@dataclass(frozen=True)
class ProposalResult:
    """What a proposal did: created a draft KPI, added a line or set a line's target."""

    action: str
    measure: str
    target: float
    kpi: str
    template: str | None
    message: str


def _payload(session: Session, period: Period) -> Payload:
    found = stored(session, period, KEY)
    if found is None:
        raise NotFound(
            _(
                "The success behaviours of %(period)s are not computed yet: run the "
                "analyses of the period first.",
                period=period.label,
            ),
            field="period",
        )
    return found.payload


def card_target(row: dict[str, Any], kpi: Kpi, period: Period) -> float:
    """Return the top performers' median as a card target: a quarter's worth for a KPI
    that adds up over time (cards hold quarterly targets), the median itself otherwise."""
    target = float(row["target"])
    if kpi.time_aggregation == TimeAggregation.SUM:
        return target / QUARTER_SHARE.get(period.kind, 1.0)
    return target


def propose_kpi(
    session: Session,
    *,
    actor: Actor,
    period: Period,
    measure: str,
    template: str | None = None,
    weight: float | None = None,
) -> ProposalResult:
    """Make the success behaviour ``measure`` of ``period`` a behavioural KPI with the top
    performers' median as its target; leaders and admins only.

    A measure that is a KPI goes onto the scorecard template ``template`` with that target
    (or has its line's target set when the template carries it); a derived ratio becomes
    a draft expression KPI. Refuses a measure that is no success behaviour, a template
    that would carry more KPIs than governance allows, and a second identical proposal.
    """
    actor.require(Role.LEADER)
    rows = {row["code"]: row for row in _payload(session, period).get("measures", [])}
    row = rows.get(measure)
    if row is None:
        raise NotFound(
            _("%(measure)s was not compared in %(period)s.", measure=measure, period=period.label),
            field="measure",
        )
    if row["status"] != SUCCESS or row.get("target") is None:
        raise InvalidInput(
            _(
                "%(measure)s is not a success behaviour in %(period)s: there is nothing to "
                "propose.",
                measure=measure,
                period=period.label,
            ),
            field="measure",
        )
    kpi = session.scalar(select(Kpi).where(Kpi.code == measure))
    if row["kpi"] is None:
        return _create_draft(session, actor=actor, row=row, existing=kpi)
    if kpi is None:
        raise NotFound(_("There is no KPI with the code %(code)s.", code=measure), field="measure")
    return _onto_template(
        session, actor=actor, row=row, kpi=kpi, period=period, template=template, weight=weight
    )


def _create_draft(
    session: Session, *, actor: Actor, row: dict[str, Any], existing: Kpi | None
) -> ProposalResult:
    target = float(row["target"])
    if existing is not None:
        raise Conflict(
            _(
                "The KPI %(code)s exists already (%(status)s): nothing was created. Edit it in "
                "the catalogue.",
                code=existing.code,
                status={"active": _("active"), "draft": _("draft")}.get(
                    existing.status, _("retired")
                ),
            ),
            field="measure",
        )
    ratio = next(r for r in DERIVED_RATIOS if r.code == row["code"])
    shown = format_kpi_value(target, Shown(row["unit"], row["decimals"]))
    kpi = create_kpi(
        session,
        actor=actor,
        kpi_in=KpiCreate(
            code=ratio.code,
            name=ratio.name,
            description=ratio.description,
            level=Level.ACTIVITY,
            kind=KpiKind.HARD,
            source=KpiSource.EXPRESSION,
            direction=Direction(row["direction"]),
            unit=Unit(row["unit"]),
            decimals=row["decimals"],
            time_aggregation=TimeAggregation.MEAN,
            status=KpiStatus.DRAFT,
            formula=ratio.formula,
            target=target,
            decision_threshold=target,
            decision_rule=_(
                "Below %(target)s, the top performers' median: plan the next weeks' "
                "meetings together and follow them up in coaching.",
                target=shown,
            ),
        ),
    )
    return ProposalResult(
        "created",
        row["code"],
        target,
        kpi.code,
        None,
        _(
            "The draft KPI %(code)s (%(formula)s) was created with the target %(target)s. "
            "Review it in the catalogue and make it active to compute it.",
            code=kpi.code,
            formula=ratio.formula,
            target=shown,
        ),
    )


def _onto_template(
    session: Session,
    *,
    actor: Actor,
    row: dict[str, Any],
    kpi: Kpi,
    period: Period,
    template: str | None,
    weight: float | None,
) -> ProposalResult:
    if not template:
        raise InvalidInput(_("Choose the scorecard template."), field="template")
    chosen = get_template(session, template)
    target = card_target(row, kpi, period)
    shown = format_kpi_value(target, kpi)
    lines = template_lines(session).get(chosen.id, [])
    kpis = {
        k.id: k for k in session.scalars(select(Kpi).where(Kpi.id.in_([ln.kpi_id for ln in lines])))
    }
    current = next((line for line in lines if line.kpi_id == kpi.id), None)
    if (
        current is not None
        and current.target is not None
        and math.isclose(current.target, target, rel_tol=SAME_TARGET)
    ):
        raise Conflict(
            _(
                "%(kpi)s is on %(template)s with the target %(target)s already: nothing changed.",
                kpi=display_name(kpi),
                template=chosen.name,
                target=shown,
            ),
            field="template",
        )
    active = sum(1 for line in lines if kpis[line.kpi_id].status == KpiStatus.ACTIVE)
    if current is None and active >= max_card_kpis():
        raise Conflict(
            _(
                "%(template)s carries %(count)s active KPIs, the most a card should hold "
                "(TOUCHLINE_MAX_CARD_KPIS): take one off or choose another template.",
                template=chosen.name,
                count=active,
            ),
            field="template",
        )
    if weight is not None and weight < 0:
        raise InvalidInput(_("A weight cannot be negative."), field="weight")
    specs = [
        LineSpec(
            kpis[line.kpi_id].code,
            line.weight,
            target if line.kpi_id == kpi.id else line.target,
            line.green_from,
            line.amber_from,
        )
        for line in lines
    ]
    if current is None:
        specs.append(LineSpec(kpi.code, DEFAULT_WEIGHT if weight is None else weight, target))
    save_template(
        session, actor=actor, name=chosen.name, lines=specs, description=chosen.description
    )
    total = sum(spec.weight for spec in specs)
    if current is None:
        message = _(
            "%(kpi)s was added to %(template)s with the target %(target)s and the weight "
            "%(weight)s; the template's weights now add up to %(total)s.",
            kpi=display_name(kpi),
            template=chosen.name,
            target=shown,
            weight=f"{specs[-1].weight:g}",
            total=f"{total:g}",
        )
    else:
        message = _(
            "The target of %(kpi)s on %(template)s is now %(target)s, the top performers' median.",
            kpi=display_name(kpi),
            template=chosen.name,
            target=shown,
        )
    return ProposalResult(
        "added" if current is None else "target_set",
        row["code"],
        target,
        kpi.code,
        chosen.name,
        message,
    )
