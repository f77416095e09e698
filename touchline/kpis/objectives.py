"""Objectives: the strategy cascaded from the company to units and individuals.

An objective belongs to the company (no unit, no seller), a unit or a seller, may sit under
a parent objective with a contribution weight, and is served by KPIs (each KPI serves at
most one objective). Its progress for a period is the weighted mean of the attainment of
its KPIs (each weighing 1) and the progress of its children (each weighing its weight).
A KPI's attainment for an objective is its mean attainment over the sellers in the
objective's scope who have it on their card.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role
from touchline.auth.policy import Actor, UnitTree
from touchline.errors import Forbidden, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.models import Kpi, Objective
from touchline.kpis.scorecards import line_attainments, weighted_mean
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period


@dataclass
class ObjectiveNode:
    """An objective with its scope, KPIs, children and progress for a period."""

    objective: Objective
    scope: str
    kpis: list[tuple[Kpi, str, float | None]] = field(default_factory=list)
    children: list[ObjectiveNode] = field(default_factory=list)
    progress: float | None = None

    @property
    def uncovered(self) -> bool:
        """True when nothing serves the objective: no KPI and no child objective."""
        return not self.kpis and not self.children


def create_objective(
    session: Session,
    *,
    actor: Actor,
    title: str,
    description: str = "",
    parent_id: int | None = None,
    unit: Unit | None = None,
    seller: Seller | None = None,
    weight: float = 1.0,
) -> Objective:
    """Add an objective; return it.

    Company objectives are for leaders and admins; a unit's or a seller's for whoever
    manages them. Refuses an empty title, a non-positive weight, an unknown parent, and
    both a unit and a seller at once.
    """
    if not title.strip():
        raise InvalidInput(_("An objective needs a title."), field="title")
    if weight <= 0:
        raise InvalidInput(_("The weight must be above 0."), field="weight")
    if unit is not None and seller is not None:
        raise InvalidInput(_("An objective belongs to a unit or a seller, not both."), field="unit")
    if unit is None and seller is None:
        actor.require(Role.LEADER)
    elif unit is not None and not actor.can_manage_unit(unit.id):
        raise Forbidden(_("You may not set objectives for this unit."))
    elif seller is not None and not actor.can_manage_seller(seller):
        raise Forbidden(_("You may not set objectives for this seller."))
    if parent_id is not None and session.get(Objective, parent_id) is None:
        raise InvalidInput(_("There is no objective %(id)s.", id=parent_id), field="parent_id")
    objective = Objective(
        title=title.strip(),
        description=description,
        parent_id=parent_id,
        unit_id=unit.id if unit else None,
        seller_id=seller.id if seller else None,
        weight=weight,
    )
    session.add(objective)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="objective",
        entity_id=str(objective.id),
        after={"title": objective.title, "parent_id": parent_id, "weight": weight},
    )
    return objective


def link_kpi(session: Session, *, actor: Actor, kpi: Kpi, objective: Objective | None) -> None:
    """Make ``kpi`` serve ``objective`` (or none); leaders and admins only."""
    actor.require(Role.LEADER)
    before = kpi.objective_id
    kpi.objective_id = objective.id if objective else None
    audit.record(
        session,
        actor=actor.user,
        action="link",
        entity="kpi",
        entity_id=kpi.code,
        before={"objective_id": before},
        after={"objective_id": kpi.objective_id},
    )
    session.flush()


def get_objective(session: Session, objective_id: int) -> Objective:
    objective = session.get(Objective, objective_id)
    if objective is None:
        raise NotFound(_("There is no objective %(id)s.", id=objective_id), field="objective")
    return objective


def objective_tree(session: Session, *, actor: Actor, period: Period) -> list[ObjectiveNode]:
    """Return the objectives the actor may see as a tree, with progress for ``period``.

    Everyone sees the company's objectives; unit and seller objectives follow the
    visibility policy.
    """
    objectives = list(session.scalars(select(Objective).order_by(Objective.id)))
    units = {u.id: u for u in session.scalars(select(Unit))}
    sellers = {s.id: s for s in session.scalars(select(Seller).where(actor.sellers_clause()))}
    visible = [
        o
        for o in objectives
        if (o.unit_id is None and o.seller_id is None)
        or (o.unit_id is not None and actor.can_see_unit(o.unit_id))
        or (o.seller_id is not None and o.seller_id in sellers)
    ]
    kpis_by_objective: dict[int, list[Kpi]] = defaultdict(list)
    for kpi in session.scalars(
        select(Kpi).where(Kpi.objective_id.is_not(None), Kpi.status == "active")
    ):
        assert kpi.objective_id is not None
        kpis_by_objective[kpi.objective_id].append(kpi)

    # attainments[(seller_id, kpi_id)], of the KPIs that serve an objective
    served = {kpi.id for kpis in kpis_by_objective.values() for kpi in kpis}
    attainments = line_attainments(session, list(sellers.values()), period, kpi_ids=served)
    tree = UnitTree.load(session)

    def scope_sellers(objective: Objective) -> list[int]:
        if objective.seller_id is not None:
            return [objective.seller_id]
        if objective.unit_id is not None:
            below = tree.subtree(objective.unit_id)
            return [s.id for s in sellers.values() if s.unit_id in below]
        return list(sellers)

    def scope_label(objective: Objective) -> str:
        if objective.seller_id is not None and objective.seller_id in sellers:
            return sellers[objective.seller_id].name
        if objective.unit_id is not None:
            return units[objective.unit_id].name
        return _("Company")

    nodes = {o.id: ObjectiveNode(o, scope_label(o)) for o in visible}
    roots: list[ObjectiveNode] = []
    for objective in visible:
        node = nodes[objective.id]
        in_scope = scope_sellers(objective)
        for kpi in kpis_by_objective.get(objective.id, []):
            values = [
                attainments[(seller_id, kpi.id)]
                for seller_id in in_scope
                if attainments.get((seller_id, kpi.id)) is not None
            ]
            mean = sum(v for v in values if v is not None) / len(values) if values else None
            node.kpis.append((kpi, display_name(kpi), mean))
        parent = nodes.get(objective.parent_id) if objective.parent_id else None
        (parent.children if parent else roots).append(node)

    def settle(node: ObjectiveNode) -> float | None:
        pairs = [(1.0, attained) for _kpi, _name, attained in node.kpis]
        pairs += [(child.objective.weight, settle(child)) for child in node.children]
        node.progress = weighted_mean(pairs)
        return node.progress

    for root in roots:
        settle(root)
    return roots


def alignment(session: Session, *, actor: Actor) -> tuple[list[Objective], list[Kpi]]:
    """Return the objectives nothing serves and the active KPIs that serve no objective."""
    actor.require(Role.MANAGER)
    objectives = list(session.scalars(select(Objective).order_by(Objective.id)))
    parents = {o.parent_id for o in objectives if o.parent_id is not None}
    served = set(session.scalars(select(Kpi.objective_id).where(Kpi.objective_id.is_not(None))))
    empty = [o for o in objectives if o.id not in parents and o.id not in served]
    loose = list(
        session.scalars(
            select(Kpi)
            .where(Kpi.objective_id.is_(None), Kpi.status == "active")
            .order_by(Kpi.level, Kpi.code)
        )
    )
    return empty, loose
