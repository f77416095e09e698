"""The governance report: few KPIs per card, every level present, every KPI tied to an
objective and a decision rule, no KPI imposed from outside a seller's reporting line, and
the KPIs that are "only statistics" (related to no later result).

Which KPIs are only statistics the analytics find (they sit above the KPIs): they
register the finding's source with ``register_only_statistics``."""

from __future__ import annotations

from collections.abc import Callable
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
from touchline.kpis.scorecards import LEVELS, CardBook, max_card_kpis
from touchline.org.models import Seller


@dataclass
class TemplateCheck:
    """A template's governance: KPI count, weights, levels, objectives and decision rules."""

    template: ScorecardTemplate
    active_kpis: int
    weight_total: float
    missing_levels: list[str]
    # Names of the template's KPIs serving no objective, and of those without a rule.
    without_objective: list[str] = field(default_factory=list)
    without_rule: list[str] = field(default_factory=list)
    limit: int = 7

    @property
    def too_many(self) -> bool:
        return self.active_kpis > self.limit

    @property
    def findings(self) -> int:
        return (
            self.too_many
            + self.weights_off
            + bool(self.missing_levels)
            + len(self.without_objective)
            + len(self.without_rule)
        )

    @property
    def weights_off(self) -> bool:
        return abs(self.weight_total - 100.0) > 0.01


@dataclass
class Imposed:
    seller: Seller
    kpi_name: str
    by: str


@dataclass(frozen=True)
class OnlyStatistics:
    """A KPI related to no later result: its code, the evidence in words and where to read it."""

    code: str
    evidence: str
    link: str


OnlyStatisticsSource = Callable[[Session], list[OnlyStatistics]]
_ONLY_STATISTICS: list[OnlyStatisticsSource] = []


def register_only_statistics(source: OnlyStatisticsSource) -> None:
    """Make ``source`` the provider of the "only statistics" finding (replacing any before)."""
    _ONLY_STATISTICS[:] = [source]


@dataclass
class GovernanceReport:
    templates: list[TemplateCheck] = field(default_factory=list)
    without_rule: list[tuple[Kpi, str]] = field(default_factory=list)
    without_objective: list[tuple[Kpi, str]] = field(default_factory=list)
    imposed: list[Imposed] = field(default_factory=list)
    only_statistics: list[tuple[Kpi, str, OnlyStatistics]] = field(default_factory=list)
    limit: int = 7

    @property
    def findings(self) -> int:
        return (
            sum(t.too_many + t.weights_off + bool(t.missing_levels) for t in self.templates)
            + len(self.without_rule)
            + len(self.without_objective)
            + len(self.imposed)
            + len(self.only_statistics)
        )


def template_checks(session: Session, *, today: date | None = None) -> list[TemplateCheck]:
    """Return each template's governance checks, by name: its active KPIs against the
    limit, its weight total, missing levels, and KPIs without an objective or a rule in
    force today."""
    kpis = {k.id: k for k in session.scalars(select(Kpi))}
    versions = Versions.load(session)
    day = today or company_today()
    limit = max_card_kpis()
    checks = []
    for template in session.scalars(select(ScorecardTemplate).order_by(ScorecardTemplate.name)):
        lines = list(
            session.scalars(select(ScorecardLine).where(ScorecardLine.template_id == template.id))
        )
        levels = {Level(kpis[line.kpi_id].level) for line in lines}
        on_card = [kpis[line.kpi_id] for line in lines]
        checks.append(
            TemplateCheck(
                template,
                sum(1 for kpi in on_card if kpi.status == "active"),
                sum(line.weight for line in lines),
                [str(level) for level in LEVELS if level not in levels],
                without_objective=[display_name(k) for k in on_card if k.objective_id is None],
                without_rule=[
                    display_name(k)
                    for k in on_card
                    if not versions.in_force(k.id, day).decision_rule
                ],
                limit=limit,
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
    report = GovernanceReport(limit=max_card_kpis())
    day = today or company_today()
    report.templates = template_checks(session, today=day)
    on_cards = set(session.scalars(select(ScorecardLine.kpi_id).distinct()))
    by_code = {kpi.code: kpi for kpi in kpis.values()}
    for source in _ONLY_STATISTICS:
        for finding in source(session):
            found = by_code.get(finding.code)
            if found is not None and found.status == "active":
                report.only_statistics.append((found, display_name(found), finding))
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
            for line in book.seller_lines_in_force(seller, day):
                if line.assigned_by_id is not None and line.assigned_by_id not in allowed:
                    report.imposed.append(
                        Imposed(
                            seller,
                            display_name(kpis[line.kpi_id]),
                            emails.get(line.assigned_by_id, "?"),
                        )
                    )
    return report
