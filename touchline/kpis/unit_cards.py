"""A team's scorecard: the unit's own values against the targets of its sellers.

The card of a unit is the template that holds for it (assigned to the unit or the
nearest unit above, or else the one most of its sellers have). Its actuals are the
unit's stored values: its sellers' events pooled, never an average of their values.
Its targets follow from its sellers' cards: a KPI that adds up over time (revenue,
meetings) has the sum of its active sellers' targets; any other KPI (a ratio, a score)
has the mean of their targets. So a team is green when its sellers together reach what
was asked of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor, UnitTree
from touchline.errors import NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import sync_builtin_kpis
from touchline.kpis.compute import company_today
from touchline.kpis.models import (
    Kpi,
    KpiValue,
    KpiVersion,
    ScorecardLine,
    ScorecardTemplate,
    SubjectKind,
    TimeAggregation,
)
from touchline.kpis.scorecards import (
    LEVELS,
    CardBook,
    CardLine,
    EffectiveLine,
    history_periods,
    judge_line,
    summarise,
)
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period


@dataclass
class UnitScorecard:
    """A unit's balanced scorecard for one period."""

    unit: Unit
    period: Period
    template: ScorecardTemplate | None
    lines: list[CardLine]
    level_scores: dict[str, float | None]
    balanced_index: float | None
    capacity: float | None
    capacity_weak: bool
    warnings: list[str]
    sellers: int

    def by_level(self) -> list[tuple[str, list[CardLine]]]:
        return [(level, [ln for ln in self.lines if ln.kpi.level == level]) for level in LEVELS]


def _unit_template(
    book: CardBook, tree: UnitTree, unit: Unit, sellers: list[Seller]
) -> ScorecardTemplate | None:
    for unit_id in tree.chain(unit.id):
        if unit_id in book.by_unit:
            return book.templates.get(book.by_unit[unit_id])
    common = Counter(
        template.id for seller in sellers if (template := book.template_of(seller)) is not None
    ).most_common(1)
    return book.templates.get(common[0][0]) if common else None


def unit_scorecard(
    session: Session, *, actor: Actor, unit: Unit, period: Period, today: date | None = None
) -> UnitScorecard:
    """Return ``unit``'s scorecard for ``period``; refuses a unit the actor may not see.

    Anyone who may see a unit may see its card: it shows team figures only.
    """
    if not actor.can_see_unit(unit.id):
        raise NotFound(_("There is no unit %(id)s that you may see.", id=unit.external_id))
    sync_builtin_kpis(session)
    tree = UnitTree.load(session)
    below = tree.subtree(unit.id)
    sellers = list(
        session.scalars(
            select(Seller)
            .where(Seller.unit_id.in_(sorted(below)), Seller.active)
            .order_by(Seller.id)
        )
    )
    book = CardBook(session, sellers)
    template = _unit_template(book, tree, unit, sellers)
    template_lines = book.template_lines.get(template.id, []) if template else []
    seller_lines = {seller.id: book.lines_of(seller, period.start) for seller in sellers}
    history = history_periods(period)
    stored = {
        (kpi_id, label): value
        for kpi_id, label, value in session.execute(
            select(KpiValue.kpi_id, KpiValue.period, KpiValue.value).where(
                KpiValue.subject_kind == SubjectKind.UNIT,
                KpiValue.subject_id == unit.id,
                KpiValue.period.in_([p.label for p in history]),
                KpiValue.kpi_id.in_([line.kpi_id for line in template_lines]),
            )
        )
    }
    today = today or company_today()
    shown: list[CardLine] = []
    for line in template_lines:
        kpi = book.kpis[line.kpi_id]
        version = book.versions.in_force(kpi.id, period.start)
        target = team_target(line, kpi, version, seller_lines)
        effective = EffectiveLine(
            kpi.id, line.weight, target, line.green_from, line.amber_from, line.position, None
        )
        shown.append(
            judge_line(
                book,
                effective,
                period,
                actual=stored.get((kpi.id, period.label)),
                history=[(p.label, stored.get((kpi.id, p.label))) for p in history],
                today=today,
            )
        )
    summary = summarise(book, shown, period)
    return UnitScorecard(
        unit=unit,
        period=period,
        template=template,
        lines=shown,
        level_scores=summary.level_scores,
        balanced_index=summary.balanced_index,
        capacity=summary.capacity,
        capacity_weak=summary.capacity_weak,
        warnings=summary.warnings,
        sellers=len(sellers),
    )


def team_target(
    line: ScorecardLine,
    kpi: Kpi,
    version: KpiVersion,
    seller_lines: dict[int, list[EffectiveLine]],
) -> float | None:
    """Return a team card line's target: its sellers' targets of the KPI added up for a
    KPI that adds up over time, their mean otherwise; the line's own (or the version's)
    when no seller has one."""
    targets = [
        own.target if own.target is not None else version.target
        for lines in seller_lines.values()
        for own in lines
        if own.kpi_id == kpi.id
    ]
    present = [target for target in targets if target is not None]
    if not present:
        return line.target if line.target is not None else version.target
    if kpi.time_aggregation == TimeAggregation.SUM:
        return float(sum(present))
    return float(sum(present) / len(present))
