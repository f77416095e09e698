"""The company overview: every unit's KPI values for a period next to the period before."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor, UnitTree
from touchline.kpis.catalogue import display_name, sync_builtin_kpis
from touchline.kpis.models import COMPANY_SUBJECT_ID, Kpi, KpiValue, ScorecardLine, SubjectKind
from touchline.org.models import Unit
from touchline.org.periods import Period

DEFAULT_CODES = ("revenue_won", "new_customers", "win_rate", "meetings_new_customers")


@dataclass
class OverviewRow:
    """A unit (or the company) with its values now and in the period before."""

    name: str
    external_id: str
    depth: int
    values: dict[int, tuple[float | None, float | None]]


@dataclass
class Overview:
    period: Period
    previous: Period
    columns: list[tuple[Kpi, str]]
    rows: list[OverviewRow]


def company_overview(session: Session, *, actor: Actor, period: Period) -> Overview:
    """Return the units the actor may see, in tree order, with the KPIs of the cards.

    The columns are the KPIs on any scorecard template (the reference result KPIs when
    there is none). Values are the units' own (their events pooled), not seller means.
    """
    sync_builtin_kpis(session)
    on_cards = set(
        session.scalars(
            select(ScorecardLine.kpi_id).where(ScorecardLine.template_id.is_not(None)).distinct()
        )
    )
    query = select(Kpi).where(Kpi.status == "active")
    query = (
        query.where(Kpi.id.in_(on_cards)) if on_cards else query.where(Kpi.code.in_(DEFAULT_CODES))
    )
    kpis = sorted(session.scalars(query), key=lambda k: (k.level, k.code))
    previous = period.previous()
    units = list(session.scalars(select(Unit).where(actor.units_clause())))
    tree = UnitTree.load(session)
    visible = {unit.id for unit in units}
    stored = {
        (value.subject_kind, value.subject_id, value.kpi_id, value.period): value.value
        for value in session.scalars(
            select(KpiValue).where(
                KpiValue.period.in_([period.label, previous.label]),
                KpiValue.kpi_id.in_([k.id for k in kpis]),
                KpiValue.subject_kind.in_([SubjectKind.UNIT, SubjectKind.COMPANY]),
            )
        )
    }

    def values(kind: str, subject: int) -> dict[int, tuple[float | None, float | None]]:
        return {
            kpi.id: (
                stored.get((kind, subject, kpi.id, period.label)),
                stored.get((kind, subject, kpi.id, previous.label)),
            )
            for kpi in kpis
        }

    rows: list[OverviewRow] = []
    if actor.sees_all:
        rows.append(OverviewRow("", "", 0, values(SubjectKind.COMPANY, COMPANY_SUBJECT_ID)))
    by_id = {unit.id: unit for unit in units}

    def walk(unit_id: int, depth: int) -> None:
        unit = by_id[unit_id]
        rows.append(
            OverviewRow(unit.name, unit.external_id, depth, values(SubjectKind.UNIT, unit.id))
        )
        for child in sorted(
            tree.children.get(unit_id, []), key=lambda c: by_id[c].name if c in by_id else ""
        ):
            if child in visible:
                walk(child, depth + 1)

    roots = [u for u in units if u.parent_id is None or u.parent_id not in visible]
    for root in sorted(roots, key=lambda u: u.name):
        walk(root.id, 0)
    return Overview(period, previous, [(k, display_name(k)) for k in kpis], rows)
