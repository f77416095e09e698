"""Impediments: what hurts a seller's performance, recorded on agenda items, and the view
across units by category and over time (seed 004's five kinds of cause)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.policy import Actor, UnitTree
from touchline.coaching.access import require_party, require_unlocked, today
from touchline.coaching.conversations import MAX_TEXT, touch
from touchline.coaching.models import AgendaItem, Conversation, Impediment, ImpedimentCategory
from touchline.errors import InvalidInput
from touchline.i18n import gettext as _
from touchline.org.models import Seller

CATEGORIES = tuple(ImpedimentCategory)


def category_label(category: str) -> str:
    """Return the translated name of an impediment category."""
    return {
        ImpedimentCategory.WORK_ENVIRONMENT: _("Work environment"),
        ImpedimentCategory.JOB_DESIGN: _("Job design"),
        ImpedimentCategory.POLICY: _("Policy or practice"),
        ImpedimentCategory.PERSONAL: _("Personal"),
        ImpedimentCategory.EXTERNAL: _("External factor"),
    }.get(ImpedimentCategory(category), category)


def record_impediment(
    session: Session,
    *,
    actor: Actor,
    conversation: Conversation,
    item: AgendaItem,
    category: str,
    within_control: bool,
    description: str = "",
) -> Impediment:
    """Record an impediment on an agenda item; refuses an unknown category (InvalidInput)."""
    require_party(actor, conversation)
    require_unlocked(conversation)
    if category not in {c.value for c in CATEGORIES}:
        raise InvalidInput(
            _(
                "The category is one of work_environment, job_design, policy_practice, "
                "personal or external, not %(category)s.",
                category=category,
            ),
            field="category",
        )
    description = description.strip()
    if len(description) > MAX_TEXT:
        raise InvalidInput(
            _(
                "At most %(limit)s characters, not %(count)s.",
                limit=MAX_TEXT,
                count=len(description),
            ),
            field="description",
        )
    impediment = Impediment(
        agenda_item_id=item.id,
        seller_id=conversation.seller_id,
        category=category,
        within_control=within_control,
        description=description,
        recorded_by_id=actor.user.id if actor.user else None,
        recorded_on=conversation.held_on or today(),
    )
    session.add(impediment)
    touch(conversation)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="add",
        entity="impediment",
        entity_id=str(impediment.id),
        after={"category": category, "within_control": within_control, "description": description},
    )
    return impediment


@dataclass
class ImpedimentReport:
    """Impediments by category and month, of the sellers one may see."""

    months: list[str]
    counts: dict[str, list[int]]  # category -> count per month
    within_control: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def totals(self) -> dict[str, int]:
        return {category: sum(values) for category, values in self.counts.items()}


def _months(first: date, last: date) -> list[str]:
    found = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def impediment_report(
    session: Session,
    *,
    actor: Actor,
    months: int = 12,
    unit_id: int | None = None,
    until: date | None = None,
) -> ImpedimentReport:
    """Return the impediments of the last ``months`` months by category and month, over
    every seller the actor may see (of ``unit_id`` and below, when given)."""
    last = until or today()
    year, month = last.year, last.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    first = date(year, month, 1)
    labels = _months(first, last)
    query = (
        select(
            Impediment.category,
            Impediment.recorded_on,
            Impediment.within_control,
        )
        .join(Seller, Seller.id == Impediment.seller_id)
        .where(
            Impediment.recorded_on >= first, Impediment.recorded_on <= last, actor.sellers_clause()
        )
    )
    if unit_id is not None:
        query = query.where(Seller.unit_id.in_(sorted(UnitTree.load(session).subtree(unit_id))))
    counts = {c.value: [0] * len(labels) for c in CATEGORIES}
    within: dict[str, int] = {c.value: 0 for c in CATEGORIES}
    position = {label: index for index, label in enumerate(labels)}
    total = 0
    for category, recorded_on, in_control in session.execute(query):
        counts[category][position[f"{recorded_on.year:04d}-{recorded_on.month:02d}"]] += 1
        within[category] += int(bool(in_control))
        total += 1
    return ImpedimentReport(labels, counts, within, total)


def impediments_of_items(session: Session, item_ids: list[int]) -> dict[int, list[Impediment]]:
    """Return the impediments recorded on each of the agenda items."""
    found: dict[int, list[Impediment]] = {}
    if not item_ids:
        return found
    for impediment in session.scalars(
        select(Impediment).where(Impediment.agenda_item_id.in_(item_ids)).order_by(Impediment.id)
    ):
        found.setdefault(impediment.agenda_item_id, []).append(impediment)
    return found


def count_since(session: Session, *, actor: Actor, since: date) -> int:
    """Return how many impediments of visible sellers were recorded since ``since``."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Impediment)
            .join(Seller, Seller.id == Impediment.seller_id)
            .where(Impediment.recorded_on >= since, actor.sellers_clause())
        )
        or 0
    )
