"""Coaching's parts of the shared pages: the seller's next steps and the manager's due
list on the dashboard, impediments for leaders, and a seller page's coaching box."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.coaching import cadence, impediments
from touchline.coaching.access import today
from touchline.coaching.agenda import describe
from touchline.coaching.models import ActionItem, ActionStatus, AgendaItem
from touchline.coaching.tables import impediment_table
from touchline.org.models import Seller
from touchline.web.parts import Part

DUE_SHOWN = 10


def dashboard_parts(session: Session, actor: Actor) -> list[Part]:
    """Return the seller's next conversation and actions, the manager's due list and the
    leader's impediments, as far as they apply to ``actor``."""
    parts: list[Part] = []
    day = today()
    if actor.own_seller_id is not None:
        me = session.get(Seller, actor.own_seller_id)
        if me is not None and me.manager_id is not None:
            parts.append(_next_steps(session, me, day))
    if actor.at_least(Role.MANAGER):
        states = cadence.due_list(session, actor=actor, today=day)
        waiting = [s for s in states if s.state(day) != "later"]
        if states:
            parts.append(
                Part(
                    "manager",
                    "coaching/_dashboard_manager.html",
                    {"states": waiting[:DUE_SHOWN], "more": len(waiting) - DUE_SHOWN, "today": day},
                )
            )
    if actor.at_least(Role.LEADER):
        report = impediments.impediment_report(session, actor=actor, months=12)
        parts.append(
            Part(
                "leader",
                "coaching/_dashboard_leader.html",
                {
                    "report": report,
                    "table": impediment_table(report),
                    "category_label": impediments.category_label,
                },
            )
        )
    return parts


def _next_steps(session: Session, me: Seller, day: object) -> Part:
    state = cadence.coaching_states(session, [me], today=today())[0]
    items = []
    if state.planned_id is not None:
        for item in session.scalars(
            select(AgendaItem)
            .where(AgendaItem.conversation_id == state.planned_id, AgendaItem.dropped.is_(False))
            .order_by(AgendaItem.position, AgendaItem.id)
        ):
            items.append(
                describe(item, None).title if item.kpi_id is None else _titled(session, item)
            )
    open_actions = list(
        session.scalars(
            select(ActionItem)
            .where(ActionItem.seller_id == me.id, ActionItem.status == ActionStatus.OPEN)
            .order_by(ActionItem.due_on, ActionItem.id)
        )
    )
    return Part(
        "seller",
        "coaching/_dashboard_seller.html",
        {"me": me, "state": state, "agenda": items, "actions": open_actions, "today": today()},
    )


def _titled(session: Session, item: AgendaItem) -> str:
    from touchline.kpis.models import Kpi

    return describe(item, session.get(Kpi, item.kpi_id)).title


def seller_page_parts(session: Session, actor: Actor, seller: Seller) -> list[Part]:
    """Return the coaching box of a seller's page for anyone who may see the seller."""
    if not actor.can_see_seller(seller) or seller.manager_id is None:
        return []
    day = today()
    state = cadence.coaching_states(session, [seller], today=day, with_reasons=False)[0]
    open_count = len(
        list(
            session.scalars(
                select(ActionItem.id).where(
                    ActionItem.seller_id == seller.id, ActionItem.status == ActionStatus.OPEN
                )
            )
        )
    )
    return [
        Part(
            "main",
            "coaching/_seller_main.html",
            {
                "seller": seller,
                "state": state,
                "open_actions": open_count,
                "today": day,
                "soon": day + timedelta(days=cadence.DUE_SOON_DAYS),
            },
        )
    ]
