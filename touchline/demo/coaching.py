"""The demo company's coaching: months of conversations on cadence, a due list, and a
card for the team leads.

Every seller with a manager (field sellers, team leads, region heads) has been coached by
their manager for ``HISTORY_DAYS`` up to today: conversations every 14 days or so (Team
1.2's unit cadence is 21 days, a few sellers' own 7), most a day or two either side of
their due date, some late. Each has an agenda of off-track KPIs (from the stored values),
follow-ups of open action items, the seller's topics and a recognition now and then;
notes from both sides, a reflection and a summary; action items done, dropped with a
reason, open and some overdue; impediments of every category. Older conversations are
signed off and locked; a few recent ones await the seller's signature; about a quarter
of the sellers have their next conversation planned, with the agenda drawn from the
facts as a manager opening it would get; some are overdue. Rows are written in bulk;
the same seed gives the same history relative to the day it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.models import User
from touchline.auth.policy import SYSTEM, actor_for
from touchline.coaching.conversations import open_conversation
from touchline.coaching.kpis import CODES, refresh_coaching_kpis
from touchline.coaching.models import (
    CoachingCadence,
    ImpedimentCategory,
    SellerTopic,
)
from touchline.demo.coaching_history import HistoryPlan, KpiFacts, at, seller_history, write_history
from touchline.demo.coaching_texts import (
    TOPICS,
)
from touchline.kpis.assignments import LineSpec, assign_template, save_template
from touchline.kpis.catalogue import sync_builtin_kpis
from touchline.kpis.models import Kpi, Objective
from touchline.org.models import Seller, Unit

HISTORY_DAYS = 182
TEAM_LEAD_TEMPLATE = "Team lead"
# (KPI, weight, quarterly target): one KPI per level, weights adding up to 100.
TEAM_LEAD_LINES = (
    ("coaching_coverage", 40.0, 0.9),
    ("action_follow_through", 25.0, 0.8),
    ("seller_voice", 15.0, 0.8),
    ("development_plans", 20.0, 0.75),
)
SLOW_TEAM = "Team 1.2"


def build_coaching(
    session: Session,
    *,
    today: date,
    seed: int = 7,
    progress: Callable[[str, int], None] | None = None,
) -> None:
    """Write the demo's coaching history up to ``today`` and the team leads' card."""
    rng = np.random.default_rng(seed + 606)
    sellers = list(
        session.scalars(
            select(Seller).where(Seller.manager_id.is_not(None)).order_by(Seller.external_id)
        )
    )
    users = {
        user.seller_id: user
        for user in session.scalars(select(User).where(User.seller_id.is_not(None)))
    }
    cadence = _cadences(session, sellers, rng)
    sync_builtin_kpis(session)
    kpis = {kpi.code: kpi for kpi in session.scalars(select(Kpi))}
    facts = KpiFacts(session, kpis)
    plan = HistoryPlan()
    category_cycle = list(ImpedimentCategory)
    start = today - timedelta(days=HISTORY_DAYS)
    for seller in sellers:
        coach = users.get(seller.manager_id)
        if coach is None:
            continue
        seller_history(
            plan,
            rng,
            seller,
            coach,
            users.get(seller.id),
            cadence[seller.id],
            start,
            today,
            facts,
            category_cycle,
        )
    write_history(session, plan)
    if progress:
        progress("coaching history", len(plan.conversations))
    _planned(session, rng, sellers, users, today)
    _team_lead_card(session, kpis)
    refresh_coaching_kpis(
        session, days=[start + timedelta(days=d) for d in range(0, HISTORY_DAYS + 1, 7)] + [today]
    )


def _cadences(session: Session, sellers: list[Seller], rng: np.random.Generator) -> dict[int, int]:
    every = {seller.id: 14 for seller in sellers}
    slow = session.scalar(select(Unit).where(Unit.name == SLOW_TEAM))
    if slow is not None:
        session.add(CoachingCadence(unit_id=slow.id, every_days=21))
        for seller in sellers:
            if seller.unit_id == slow.id:
                every[seller.id] = 21
    field_sellers = [s for s in sellers if s.territory_id is not None]
    for index in rng.choice(len(field_sellers), size=min(3, len(field_sellers)), replace=False):
        seller = field_sellers[int(index)]
        session.add(CoachingCadence(seller_id=seller.id, every_days=7))
        every[seller.id] = 7
    session.flush()
    return every


def _planned(
    session: Session,
    rng: np.random.Generator,
    sellers: list[Seller],
    users: dict[int | None, User],
    today: date,
) -> None:
    """Open the next conversation for about a quarter of the sellers, as their manager
    would: the agenda is drawn from the facts; some sellers added a topic first."""
    actors: dict[int, Any] = {}
    for seller in sellers:
        coach = users.get(seller.manager_id)
        if coach is None or rng.random() >= 0.25:
            continue
        if rng.random() < 0.5:
            session.add(
                SellerTopic(
                    seller_id=seller.id,
                    text=TOPICS[int(rng.integers(len(TOPICS)))],
                    added_by_id=users[seller.id].id if seller.id in users else None,
                    added_by_side="seller",
                )
            )
            session.flush()
        actor = actors.get(coach.id)
        if actor is None:
            actor = actors[coach.id] = actor_for(session, coach)
        when = at(today + timedelta(days=int(rng.integers(1, 10))), int(rng.integers(8, 16)))
        open_conversation(session, actor=actor, seller=seller, scheduled_at=when, on=today)


def _team_lead_card(session: Session, kpis: dict[str, Kpi]) -> None:
    """Give every team lead the "Team lead" card and tie its KPIs to an objective."""
    template = save_template(
        session,
        actor=SYSTEM,
        name=TEAM_LEAD_TEMPLATE,
        lines=[LineSpec(code, weight, target) for code, weight, target in TEAM_LEAD_LINES],
        description="A team lead's own card: coaching on cadence, followed up, two-way.",
    )
    leads = session.scalars(
        select(Seller)
        .join(Unit, Unit.manager_id == Seller.id)
        .where(Unit.kind == "team")
        .order_by(Seller.external_id)
    )
    for lead in leads:
        assign_template(session, actor=SYSTEM, template=template, seller=lead)
    from touchline.kpis.objectives import create_objective, link_kpi

    parent = session.scalar(select(Objective).where(Objective.title == "A sales force that lasts"))
    objective = create_objective(
        session,
        actor=SYSTEM,
        title="Coaching that develops",
        description="Frequent, two-way conversations with a plan that is followed up.",
        parent_id=parent.id if parent else None,
    )
    for code in CODES:
        link_kpi(session, actor=SYSTEM, kpi=kpis[code], objective=objective)
