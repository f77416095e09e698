"""What each role sees first: the parts of the dashboard, gathered from the domains.

Later features add their part here, so the dashboard stays one page that answers
the user's first question without a click.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.kpis.governance import governance_report
from touchline.kpis.objectives import ObjectiveNode, objective_tree
from touchline.kpis.scorecards import CardLine, Scorecard, build_cards, seller_scorecard
from touchline.kpis.service import current_quarter
from touchline.org import service as org
from touchline.org.models import Seller
from touchline.org.schemas import SellerRead, UnitRead
from touchline.web.parts import Part, dashboard_parts

WARNINGS_SHOWN = 12


@dataclass
class Dashboard:
    """The figures and lists of one user's dashboard."""

    me: SellerRead | None
    units: list[UnitRead]
    managed_units: list[UnitRead]
    team: list[SellerRead]
    seller_count: int
    unit_count: int
    notes: list[str] = field(default_factory=list)
    my_card: Scorecard | None = None
    # Off-track KPIs of the sellers one manages, worst attainment first.
    warnings: list[tuple[Seller, CardLine]] = field(default_factory=list)
    objectives: list[ObjectiveNode] = field(default_factory=list)
    governance_findings: int | None = None
    quarter: str = ""
    # What the other domains add, by slot (see touchline.web.parts).
    parts: dict[str, list[Part]] = field(default_factory=dict)


def build(session: Session, *, actor: Actor) -> Dashboard:
    """Return the dashboard of ``actor``: their own record, their units and their team."""
    me = None
    if actor.own_seller_id is not None and actor.user is not None:
        own = session.get(Seller, actor.own_seller_id)
        if own is not None:
            me = org.read_seller_unchecked(session, own)
    units = org.list_units(session, actor=actor)
    managed_ids = {
        external_id
        for external_id, unit_id in org.unit_ids(session, [u.external_id for u in units]).items()
        if actor.can_manage_unit(unit_id)
    }
    managed = [u for u in units if u.external_id in managed_ids]
    team = org.list_sellers(session, actor=actor, limit=50)
    team = [s for s in team if me is None or s.external_id != me.external_id]
    quarter = current_quarter()
    my_card = None
    if actor.own_seller_id is not None:
        own_seller = session.get(Seller, actor.own_seller_id)
        if own_seller is not None:
            my_card = seller_scorecard(session, actor=actor, seller=own_seller, period=quarter)
    warnings: list[tuple[Seller, CardLine]] = []
    if actor.at_least(Role.MANAGER) and not actor.sees_all and actor.managed_unit_ids:
        managed_sellers = list(
            session.scalars(
                select(Seller).where(
                    Seller.unit_id.in_(sorted(actor.managed_unit_ids)),
                    Seller.active,
                    Seller.id != (actor.own_seller_id or 0),
                )
            )
        )
        for card in build_cards(session, managed_sellers, quarter):
            warnings += [(card.seller, line) for line in card.lines if line.light == "red"]
        warnings.sort(key=lambda item: item[1].attainment or 0.0)
    objectives: list[ObjectiveNode] = []
    findings = None
    if actor.at_least(Role.LEADER):
        objectives = objective_tree(session, actor=actor, period=quarter)
        findings = governance_report(session, actor=actor).findings
    return Dashboard(
        my_card=my_card,
        warnings=warnings[:WARNINGS_SHOWN],
        objectives=objectives,
        governance_findings=findings,
        quarter=quarter.label,
        me=me,
        units=units,
        managed_units=managed if not actor.sees_all else [u for u in units if u.parent is None],
        team=team,
        seller_count=org.count_sellers(session, actor=actor),
        unit_count=len(units),
        parts=dashboard_parts(session, actor=actor),
    )
