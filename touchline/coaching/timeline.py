"""A seller's timeline: conversations, action items closed, impediments, ratings per period
and clear KPI changes from quarter to quarter, newest first.

It shows the shared record only: never a private note, whoever reads.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor
from touchline.coaching.access import today as company_today
from touchline.coaching.impediments import category_label
from touchline.coaching.models import ActionItem, ActionStatus, Conversation, Impediment
from touchline.coaching.progress import complete_quarters
from touchline.coaching.record import status_label
from touchline.config import get_settings
from touchline.crm.models import RatingRecord
from touchline.errors import NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.display import format_kpi_value
from touchline.kpis.models import KpiValue, SubjectKind
from touchline.kpis.scorecards import build_cards
from touchline.kpis.service import current_quarter
from touchline.org.models import Seller
from touchline.org.periods import PeriodError, parse_period

# A KPI change from one quarter to the next of at least this share shows on the timeline.
KPI_CHANGE_SHOWN = 0.15
QUARTERS_SHOWN = 8
SUMMARY_SHOWN = 160


@dataclass(frozen=True)
class TimelineEntry:
    """One event in a seller's history."""

    day: date
    kind: str  # conversation, action, impediment, rating, kpi
    title: str
    detail: str = ""
    link: str = ""


def _kind_label(kind: str) -> str:
    return {
        "conversation": _("Conversation"),
        "action": _("Action item"),
        "impediment": _("Impediment"),
        "rating": _("Ratings"),
        "kpi": _("KPI change"),
    }.get(kind, kind)


def kind_label(kind: str) -> str:
    """Return the translated name of a kind of timeline entry."""
    return _kind_label(kind)


def seller_timeline(
    session: Session, *, actor: Actor, seller: Seller, today: date | None = None
) -> list[TimelineEntry]:
    """Return the seller's history, newest first; NotFound for a seller one may not see."""
    if not actor.can_see_seller(seller):
        raise NotFound(
            _("No seller %(id)s that you may see.", id=repr(seller.external_id)), field="seller"
        )
    today = today or company_today()
    entries: list[TimelineEntry] = []
    for conversation in session.scalars(
        select(Conversation).where(Conversation.seller_id == seller.id)
    ):
        day = conversation.held_on or (
            conversation.scheduled_at.date()
            if conversation.scheduled_at
            else conversation.created_at.date()
        )
        summary = conversation.summary
        if len(summary) > SUMMARY_SHOWN:
            summary = summary[: SUMMARY_SHOWN - 1] + "…"
        entries.append(
            TimelineEntry(
                day,
                "conversation",
                _("Coaching conversation (%(status)s)", status=status_label(conversation.status)),
                summary,
                f"/conversations/{conversation.id}",
            )
        )
    for action in session.scalars(
        select(ActionItem).where(
            ActionItem.seller_id == seller.id, ActionItem.status != ActionStatus.OPEN
        )
    ):
        if action.closed_on is None:
            continue
        if action.status == ActionStatus.DONE:
            title = _("Action item done: %(title)s", title=action.title)
        else:
            title = _("Action item dropped: %(title)s", title=action.title)
        entries.append(TimelineEntry(action.closed_on, "action", title, action.drop_reason))
    for impediment in session.scalars(select(Impediment).where(Impediment.seller_id == seller.id)):
        entries.append(
            TimelineEntry(
                impediment.recorded_on,
                "impediment",
                _("Impediment: %(category)s", category=category_label(impediment.category)),
                impediment.description,
            )
        )
    entries += _ratings(session, seller)
    entries += _kpi_changes(session, seller, today)
    return sorted(entries, key=lambda e: (e.day, e.kind), reverse=True)


def _ratings(session: Session, seller: Seller) -> list[TimelineEntry]:
    found = []
    rows = session.execute(
        select(RatingRecord.period, RatingRecord.rater_role, func.avg(RatingRecord.score))
        .where(RatingRecord.seller_id == seller.id)
        .group_by(RatingRecord.period, RatingRecord.rater_role)
    ).all()
    by_period: dict[str, dict[str, float]] = {}
    for label, role, mean in rows:
        by_period.setdefault(label, {})[role] = float(mean)
    start = get_settings().fiscal_year_start_month
    for label, roles in by_period.items():
        try:
            period = parse_period(label, fiscal_start_month=start)
        except PeriodError:
            continue
        voices = ", ".join(
            f"{name} {roles[role]:.1f}"
            for role, name in (
                ("self", _("self")),
                ("manager", _("manager")),
                ("peer", _("peers")),
                ("customer", _("customers")),
            )
            if role in roles
        )
        found.append(
            TimelineEntry(period.end, "rating", _("Ratings for %(period)s", period=label), voices)
        )
    return found


def _kpi_changes(session: Session, seller: Seller, today: date) -> list[TimelineEntry]:
    card = build_cards(session, [seller], current_quarter(), today=today)[0]
    kpis = {line.kpi.id: line.kpi for line in card.lines}
    if not kpis:
        return []
    quarters = complete_quarters(today, QUARTERS_SHOWN)
    rows = session.execute(
        select(KpiValue.kpi_id, KpiValue.period, KpiValue.value).where(
            KpiValue.subject_kind == SubjectKind.SELLER,
            KpiValue.subject_id == seller.id,
            KpiValue.kpi_id.in_(sorted(kpis)),
            KpiValue.period.in_([q.label for q in quarters]),
        )
    ).all()
    values = {(kpi_id, label): value for kpi_id, label, value in rows if value is not None}
    found = []
    for kpi_id, kpi in kpis.items():
        for before, after in itertools.pairwise(quarters):
            old, new = values.get((kpi_id, before.label)), values.get((kpi_id, after.label))
            if old is None or new is None or old == 0:
                continue
            change = (new - old) / abs(old)
            if abs(change) < KPI_CHANGE_SHOWN:
                continue
            found.append(
                TimelineEntry(
                    after.end,
                    "kpi",
                    _(
                        "%(kpi)s %(period)s: %(value)s (%(change)s %% on %(before)s)",
                        kpi=display_name(kpi),
                        period=after.label,
                        value=format_kpi_value(new, kpi),
                        change=f"{change * 100:+.0f}",
                        before=before.label,
                    ),
                )
            )
    return found
