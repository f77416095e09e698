"""Coaching cadence: how often each seller is coached, when the next conversation is due,
and who a manager should see first.

A seller's cadence is their own, else the nearest unit's above them (a unit's cadence
holds for everyone below it), else every ``DEFAULT_CADENCE_DAYS`` days. A conversation is
due ``cadence`` days after the last one held, and overdue from the day after; a seller
never coached is due at once. A manager coaches their direct reports (the sellers whose
manager they are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.policy import Actor, UnitTree
from touchline.coaching.access import today as company_today
from touchline.coaching.models import (
    DEFAULT_CADENCE_DAYS,
    ActionItem,
    ActionStatus,
    CoachingCadence,
    Conversation,
    ConversationStatus,
)
from touchline.coaching.progress import trends
from touchline.errors import InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.scorecards import build_cards
from touchline.kpis.service import current_quarter
from touchline.org.models import Seller, Unit

# Shown as "due" this many days before the due date.
DUE_SOON_DAYS = 7
MAX_CADENCE_DAYS = 365


@dataclass
class CoachingState:
    """Where one seller stands in their coaching rhythm, and why to see them soon."""

    seller: Seller
    cadence_days: int
    last_held_on: date | None
    due_on: date
    planned_id: int | None = None
    planned_at: datetime | None = None
    off_track: list[str] = field(default_factory=list)
    falling: list[str] = field(default_factory=list)
    overdue_actions: int = 0

    def overdue_days(self, today: date) -> int:
        return max(0, (today - self.due_on).days)

    def state(self, today: date) -> str:
        """Return overdue, due (within a week) or later."""
        if self.due_on < today:
            return "overdue"
        if self.due_on <= today + timedelta(days=DUE_SOON_DAYS):
            return "due"
        return "later"

    @property
    def reasons(self) -> int:
        return len(self.off_track) + len(self.falling) + self.overdue_actions


def cadences(session: Session, sellers: list[Seller]) -> dict[int, int]:
    """Return each seller's cadence in days: their own, the nearest unit's, or the default."""
    rows = list(session.scalars(select(CoachingCadence)))
    by_seller = {row.seller_id: row.every_days for row in rows if row.seller_id is not None}
    by_unit = {row.unit_id: row.every_days for row in rows if row.unit_id is not None}
    tree = UnitTree.load(session) if by_unit else None
    found = {}
    for seller in sellers:
        days = by_seller.get(seller.id)
        if days is None and tree is not None:
            days = next((by_unit[u] for u in tree.chain(seller.unit_id) if u in by_unit), None)
        found[seller.id] = days or DEFAULT_CADENCE_DAYS
    return found


def last_held(session: Session, seller_ids: list[int]) -> dict[int, date]:
    """Return the day of each seller's last held conversation (sellers without one absent)."""
    if not seller_ids:
        return {}
    rows = session.execute(
        select(Conversation.seller_id, func.max(Conversation.held_on))
        .where(Conversation.seller_id.in_(seller_ids), Conversation.held_on.is_not(None))
        .group_by(Conversation.seller_id)
    ).all()
    return {seller_id: held for seller_id, held in rows if held is not None}


def planned(session: Session, seller_ids: list[int]) -> dict[int, Conversation]:
    """Return each seller's conversation in preparation (planned, not yet held)."""
    if not seller_ids:
        return {}
    rows = session.scalars(
        select(Conversation)
        .where(
            Conversation.seller_id.in_(seller_ids),
            Conversation.status == ConversationStatus.PLANNED,
        )
        .order_by(Conversation.id)
    )
    return {row.seller_id: row for row in rows}


def coaching_states(
    session: Session, sellers: list[Seller], *, today: date, with_reasons: bool = False
) -> list[CoachingState]:
    """Return each seller's coaching state; with reasons, their off-track KPIs (the
    running quarter's amber and red lights), falling trends and overdue action items."""
    ids = [seller.id for seller in sellers]
    every = cadences(session, sellers)
    held = last_held(session, ids)
    prepared = planned(session, ids)
    states = []
    for seller in sellers:
        last = held.get(seller.id)
        due = last + timedelta(days=every[seller.id]) if last else today
        conversation = prepared.get(seller.id)
        states.append(
            CoachingState(
                seller=seller,
                cadence_days=every[seller.id],
                last_held_on=last,
                due_on=due,
                planned_id=conversation.id if conversation else None,
                planned_at=conversation.scheduled_at if conversation else None,
            )
        )
    if with_reasons and sellers:
        _add_reasons(session, states, today)
    return states


def _add_reasons(session: Session, states: list[CoachingState], today: date) -> None:
    sellers = [state.seller for state in states]
    by_seller = {state.seller.id: state for state in states}
    cards = build_cards(session, sellers, current_quarter(), today=today)
    kpis = {}
    for card in cards:
        by_seller[card.seller.id].off_track = [ln.name for ln in card.lines if ln.off_track]
        kpis.update({line.kpi.id: line.kpi for line in card.lines})
    for trend in trends(session, seller_ids=list(by_seller), kpis=kpis.values(), today=today):
        if not trend.better:
            from touchline.kpis.catalogue import display_name

            by_seller[trend.seller_id].falling.append(display_name(trend.kpi))
    for seller_id, count in session.execute(
        select(ActionItem.seller_id, func.count())
        .where(
            ActionItem.seller_id.in_(list(by_seller)),
            ActionItem.status == ActionStatus.OPEN,
            ActionItem.due_on < today,
        )
        .group_by(ActionItem.seller_id)
    ).all():
        by_seller[seller_id].overdue_actions = int(count)


def coachees(session: Session, *, actor: Actor) -> list[Seller]:
    """Return the active sellers the actor coaches: their direct reports they may see."""
    if actor.own_seller_id is None:
        return []
    return list(
        session.scalars(
            select(Seller)
            .where(
                Seller.manager_id == actor.own_seller_id,
                Seller.active,
                actor.sellers_clause(),
            )
            .order_by(Seller.name)
        )
    )


def manageable(session: Session, *, actor: Actor, unit_id: int | None = None) -> list[Seller]:
    """Return the active sellers the actor may coach (or of one unit and below)."""
    query = select(Seller).where(Seller.active, actor.sellers_clause()).order_by(Seller.name)
    if unit_id is not None:
        query = query.where(Seller.unit_id.in_(sorted(UnitTree.load(session).subtree(unit_id))))
    return [seller for seller in session.scalars(query) if actor.can_manage_seller(seller)]


def due_list(
    session: Session,
    *,
    actor: Actor,
    today: date | None = None,
    everyone: bool = False,
    unit_id: int | None = None,
) -> list[CoachingState]:
    """Return the actor's sellers, the ones to see first first.

    Overdue before due before later; among them, the seller with more reasons (off-track
    KPIs, falling trends, overdue action items) first, then the longer overdue. By
    default the actor's direct reports; ``everyone`` widens it to every seller they may
    coach (of ``unit_id`` and below, when given).
    """
    today = today or company_today()
    sellers = (
        manageable(session, actor=actor, unit_id=unit_id)
        if everyone or unit_id is not None
        else coachees(session, actor=actor)
    )
    states = coaching_states(session, sellers, today=today, with_reasons=True)
    rank = {"overdue": 0, "due": 1, "later": 2}
    return sorted(
        states,
        key=lambda s: (rank[s.state(today)], -s.reasons, s.due_on, s.seller.name),
    )


def _check_days(every_days: int) -> None:
    if not 1 <= every_days <= MAX_CADENCE_DAYS:
        raise InvalidInput(
            _(
                "A cadence is a number of days from 1 to %(most)s, not %(days)s.",
                most=MAX_CADENCE_DAYS,
                days=every_days,
            ),
            field="every_days",
        )


def set_seller_cadence(
    session: Session, *, actor: Actor, seller: Seller, every_days: int | None
) -> None:
    """Set the seller's own cadence (None: inherit the unit's again).

    Refuses a seller the actor does not manage with NotFound and a cadence outside
    1..365 days with InvalidInput.
    """
    if not actor.can_manage_seller(seller):
        raise NotFound(
            _("No seller %(id)s that you may see.", id=repr(seller.external_id)), field="seller"
        )
    _set(
        session,
        actor,
        CoachingCadence.seller_id,
        seller.id,
        every_days,
        f"seller/{seller.external_id}",
    )


def set_unit_cadence(session: Session, *, actor: Actor, unit: Unit, every_days: int | None) -> None:
    """Set the cadence of everyone in ``unit`` and below who has none of their own.

    Refuses a unit the actor does not manage with NotFound and a cadence outside
    1..365 days with InvalidInput.
    """
    if not actor.can_manage_unit(unit.id):
        raise NotFound(
            _("No unit %(id)s that you may see.", id=repr(unit.external_id)), field="unit"
        )
    _set(session, actor, CoachingCadence.unit_id, unit.id, every_days, f"unit/{unit.external_id}")


def _set(
    session: Session,
    actor: Actor,
    column: object,
    key: int,
    every_days: int | None,
    label: str,
) -> None:
    if every_days is not None:
        _check_days(every_days)
    row = session.scalar(select(CoachingCadence).where(column == key))  # type: ignore[arg-type]
    before = {"every_days": row.every_days} if row is not None else None
    if every_days is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        row = CoachingCadence(
            every_days=every_days, set_by_id=actor.user.id if actor.user else None
        )
        if column is CoachingCadence.seller_id:
            row.seller_id = key
        else:
            row.unit_id = key
        session.add(row)
    else:
        row.every_days = every_days
        row.set_by_id = actor.user.id if actor.user else None
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="set",
        entity="coaching_cadence",
        entity_id=label,
        before=before,
        after={"every_days": every_days} if every_days is not None else None,
    )


def own_cadence(session: Session, *, seller: Seller) -> tuple[int, bool]:
    """Return the seller's cadence and whether it is their own (not inherited)."""
    own = session.scalar(
        select(CoachingCadence.every_days).where(CoachingCadence.seller_id == seller.id)
    )
    return cadences(session, [seller])[seller.id], own is not None
