"""The governance report: few KPIs per card, every level present, every KPI tied to an
objective and a decision rule, and no KPI imposed from outside a seller's reporting line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.models import Role, User
from touchline.auth.policy import Actor
from touchline.kpis.catalogue import Versions, display_name, sync_builtin_kpis
from touchline.kpis.compute import company_today
from touchline.kpis.metrics import Level
from touchline.kpis.models import Kpi, ScorecardLine, ScorecardTemplate
from touchline.kpis.scorecards import LEVELS, MAX_ACTIVE_KPIS, CardBook
from touchline.org.models import Seller


@dataclass
class TemplateCheck:
    template: ScorecardTemplate
    active_kpis: int
    weight_total: float
    missing_levels: list[str]

    @property
    def too_many(self) -> bool:
        return self.active_kpis > MAX_ACTIVE_KPIS

    @property
    def weights_off(self) -> bool:
        return abs(self.weight_total - 100.0) > 0.01


@dataclass
class Imposed:
    seller: Seller
    kpi_name: str
    by: str


@dataclass
class GovernanceReport:
    templates: list[TemplateCheck] = field(default_factory=list)
    without_rule: list[tuple[Kpi, str]] = field(default_factory=list)
    without_objective: list[tuple[Kpi, str]] = field(default_factory=list)
    imposed: list[Imposed] = field(default_factory=list)
    limit: int = MAX_ACTIVE_KPIS

    @property
    def findings(self) -> int:
        return (
            sum(t.too_many + t.weights_off + bool(t.missing_levels) for t in self.templates)
            + len(self.without_rule)
            + len(self.without_objective)
            + len(self.imposed)
        )


def template_checks(session: Session) -> list[TemplateCheck]:
    """Return each template's KPI count, weight total and missing levels, by name."""
    kpis = {k.id: k for k in session.scalars(select(Kpi))}
    checks = []
    for template in session.scalars(select(ScorecardTemplate).order_by(ScorecardTemplate.name)):
        lines = list(
            session.scalars(select(ScorecardLine).where(ScorecardLine.template_id == template.id))
        )
        levels = {Level(kpis[line.kpi_id].level) for line in lines}
        checks.append(
            TemplateCheck(
                template,
                sum(1 for line in lines if kpis[line.kpi_id].status == "active"),
                sum(line.weight for line in lines),
                [str(level) for level in LEVELS if level not in levels],
            )
        )
    return checks


def governance_report(
    session: Session, *, actor: Actor, today: date | None = None
) -> GovernanceReport:
    """Return the governance findings across the catalogue and every card; leaders up."""
    actor.require(Role.LEADER)
    sync_builtin_kpis(session)
    kpis = {k.id: k for k in session.scalars(select(Kpi))}
    versions = Versions.load(session)
    report = GovernanceReport()
    day = today or company_today()
    report.templates = template_checks(session)
    on_cards = set(session.scalars(select(ScorecardLine.kpi_id).distinct()))
    for kpi in sorted(kpis.values(), key=lambda k: (k.level, k.code)):
        if kpi.status != "active":
            continue
        if not versions.in_force(kpi.id, day).decision_rule:
            report.without_rule.append((kpi, display_name(kpi)))
        if kpi.objective_id is None and kpi.id in on_cards:
            report.without_objective.append((kpi, display_name(kpi)))
    seller_ids = set(
        session.scalars(
            select(ScorecardLine.seller_id).where(
                ScorecardLine.seller_id.is_not(None), ScorecardLine.assigned_by_id.is_not(None)
            )
        )
    )
    if seller_ids:
        sellers = list(session.scalars(select(Seller).where(Seller.id.in_(seller_ids))))
        book = CardBook(session, sellers)
        emails = dict(session.execute(select(User.id, User.email)).all())
        for seller in sorted(sellers, key=lambda s: s.name):
            allowed = book.reporting_line(seller)
            for line in book.seller_lines.get(seller.id, []):
                if line.assigned_by_id is not None and line.assigned_by_id not in allowed:
                    report.imposed.append(
                        Imposed(
                            seller,
                            display_name(kpis[line.kpi_id]),
                            emails.get(line.assigned_by_id, "?"),
                        )
                    )
    return report
