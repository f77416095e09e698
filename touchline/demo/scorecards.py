"""The demo company's scorecard: one role template with targets read off its own history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.policy import SYSTEM
from touchline.config import get_settings
from touchline.kpis.assignments import LineSpec, assign_template, save_template
from touchline.kpis.compute import company_today, compute_all
from touchline.kpis.models import Kpi, KpiValue, Objective, SubjectKind
from touchline.org.models import Unit
from touchline.org.periods import PeriodKind, period_containing

TEMPLATE = "Account executive"
# (KPI, weight): every level present, seven KPIs, weights adding up to 100.
LINES = (
    ("revenue_won", 25.0),
    ("new_customers", 15.0),
    ("meetings_new_customers", 15.0),
    ("meeting_quality", 15.0),
    ("objection_handling", 10.0),
    ("pulse_energy", 10.0),
    ("product_knowledge", 10.0),
)


def _round(value: float) -> float:
    """Round to two significant digits, as a manager would write a target."""
    if value == 0:
        return 0.0
    digits = 1 - int(np.floor(np.log10(abs(value))))
    return float(round(value, digits))


def build_scorecards(
    session: Session, *, today: date, progress: Callable[[str, int], None] | None = None
) -> None:
    """Compute every period, then give the company the demo template.

    Targets are a tenth above the average seller of the last complete quarter (a tenth
    below for KPIs where lower is better), so some sellers are green and some are not.
    """

    def step(label: str) -> None:
        if progress:
            progress(f"computing KPIs {label}", 0)

    # Up to the running periods of the calendar, which lie after the data's last day.
    compute_all(session, today=max(today, company_today()), progress=step, trigger="demo")
    start_month = get_settings().fiscal_year_start_month
    last_quarter = period_containing(
        today, PeriodKind.QUARTER, fiscal_start_month=start_month
    ).previous()
    kpis = {
        k.code: k for k in session.scalars(select(Kpi).where(Kpi.code.in_([c for c, _ in LINES])))
    }
    specs = []
    for code, weight in LINES:
        values = list(
            session.scalars(
                select(KpiValue.value).where(
                    KpiValue.kpi_id == kpis[code].id,
                    KpiValue.period == last_quarter.label,
                    KpiValue.subject_kind == SubjectKind.SELLER,
                )
            )
        )
        present = [v for v in values if v is not None]
        target = None
        if present:
            factor = 0.9 if kpis[code].direction == "lower" else 1.1
            target = _round(float(np.mean(present)) * factor)
            if kpis[code].unit == "count":
                target = max(1.0, float(round(target)))
            if kpis[code].unit == "score":
                target = min(target, 5.0)
            if kpis[code].unit == "ratio":
                target = min(target, 1.0)
        specs.append(LineSpec(code, weight, target))
    template = save_template(
        session,
        actor=SYSTEM,
        name=TEMPLATE,
        lines=specs,
        description="Seven KPIs across the four levels for sellers with their own accounts.",
    )
    # The card is for the sellers in the teams; managers above them have none yet.
    for team in session.scalars(select(Unit).where(Unit.kind == "team").order_by(Unit.id)):
        assign_template(session, actor=SYSTEM, template=template, unit=team)
    _objectives(session, kpis)


# Company objective -> its sub-objectives -> the KPIs serving each.
OBJECTIVES = (
    (
        "Grow with new customers",
        "Win accounts we have never sold to, in every region.",
        (
            ("Win new accounts", 2.0, ("new_customers", "meetings_new_customers")),
            ("Sell with quality", 1.0, ("meeting_quality", "objection_handling")),
        ),
    ),
    (
        "A sales force that lasts",
        "Energy, knowledge and tools that carry the results.",
        (("Energy and knowledge", 1.0, ("pulse_energy", "product_knowledge")),),
    ),
)


def _objectives(session: Session, kpis: dict[str, Kpi]) -> None:
    from touchline.kpis.objectives import create_objective, link_kpi

    for title, description, children in OBJECTIVES:
        top = create_objective(session, actor=SYSTEM, title=title, description=description)
        for child_title, weight, codes in children:
            child = create_objective(
                session, actor=SYSTEM, title=child_title, parent_id=top.id, weight=weight
            )
            for code in codes:
                link_kpi(session, actor=SYSTEM, kpi=kpis[code], objective=child)
    # Revenue serves the company's growth as a whole.
    first = session.scalar(select(Objective).where(Objective.title == OBJECTIVES[0][0]))
    link_kpi(session, actor=SYSTEM, kpi=kpis["revenue_won"], objective=first)
