"""The pace of a KPI through a period: the day it is judged on, and the share of a
period's value normally reached by then, learned from the daily events of earlier
periods (docs/analytics.md, "Early warnings").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from touchline.crm.models import Activity, Deal
from touchline.org.periods import Period

PROFILE_PERIODS = 4
MIN_PROFILE_EVENTS = 30


@dataclass(frozen=True)
class EventSource:
    """The daily events a KPI that adds up is made of, for its seasonality profile."""

    kind: str  # "won", "created" or an activity type
    amounts: bool = False


# What each built-in KPI counts by day. A KPI not listed (an expression, a coaching KPI)
# has no daily events to learn from and is paced linearly.
EVENTS: dict[str, EventSource] = {
    "revenue_won": EventSource("won", amounts=True),
    "deals_won": EventSource("won"),
    "new_customers": EventSource("won"),
    "pipeline_created": EventSource("created", amounts=True),
    "meetings": EventSource("meeting"),
    "meetings_new_customers": EventSource("meeting"),
    "calls": EventSource("call"),
    "emails": EventSource("email"),
    "demos": EventSource("demo"),
    "social_touches": EventSource("social"),
}


def last_data_day(session: Session) -> date | None:
    """Return the latest day with a stored activity, deal creation or close; None if none."""
    days = [
        session.scalar(select(func.max(Activity.occurred_on))),
        session.scalar(select(func.max(Deal.created_date))),
        session.scalar(select(func.max(Deal.close_date))),
    ]
    found = [day for day in days if day is not None]
    return max(found) if found else None


def pace_day(session: Session, period: Period, today: date) -> date | None:
    """Return the day ``period`` is judged on (see the module); None before it begins."""
    if today < period.start:
        return None
    if today > period.end:
        return period.end
    last = last_data_day(session)
    if last is None or last >= today:
        return today
    return max(last, period.start)


def _fraction_day(period: Period, fraction: float) -> date:
    """Return the last day of ``period`` by which ``fraction`` of its days have passed."""
    days = max(1, round(fraction * period.days))
    return period.start + timedelta(days=days - 1)


# --- seasonality profiles ----------------------------------------------------------------


@dataclass
class Profile:
    """Per seller, what of earlier periods' events came by the pace day's point of them."""

    reached: dict[int, float]
    total: dict[int, float]
    events: dict[int, int]


def event_profile(
    session: Session, source: EventSource, earlier: list[Period], fraction: float
) -> Profile:
    """Return per seller the events of ``earlier`` periods up to the point ``fraction`` of
    each (the day by which that share of its days had passed), and in all of each."""
    profile = Profile(defaultdict(float), defaultdict(float), defaultdict(int))
    for period in earlier:
        cutoff = _fraction_day(period, fraction)
        if source.kind in ("won", "created"):
            day = Deal.close_date if source.kind == "won" else Deal.created_date
            weight = Deal.amount_cents / 100.0 if source.amounts else 1
            conditions: list[ColumnElement[bool]] = [day.between(period.start, period.end)]
            if source.kind == "won":
                conditions.append(Deal.status == "won")
            query = (
                select(
                    Deal.seller_id,
                    func.sum(case((day <= cutoff, weight), else_=0)),
                    func.sum(weight),
                    func.count(),
                )
                .where(*conditions)
                .group_by(Deal.seller_id)
            )
        else:
            query = (
                select(
                    Activity.seller_id,
                    func.sum(case((Activity.occurred_on <= cutoff, 1), else_=0)),
                    func.count(),
                    func.count(),
                )
                .where(
                    Activity.type == source.kind,
                    Activity.occurred_on.between(period.start, period.end),
                )
                .group_by(Activity.seller_id)
            )
        for seller_id, reached, total, count in session.execute(query):
            profile.reached[seller_id] += float(reached or 0)
            profile.total[seller_id] += float(total or 0)
            profile.events[seller_id] += int(count or 0)
    return profile


@dataclass(frozen=True)
class Share:
    """The share of a period's value normally reached by the pace day, and whence."""

    value: float
    method: str  # "seller", "unit" or "linear"
    events: int


def share_of(profile: Profile | None, members: list[int], own: int | None, linear: float) -> Share:
    """Return the seller's own share (``own``), else the pooled share of ``members``."""
    if profile is not None:
        if own is not None:
            events = profile.events.get(own, 0)
            total = profile.total.get(own, 0.0)
            if events >= MIN_PROFILE_EVENTS and total > 0:
                return Share(profile.reached.get(own, 0.0) / total, "seller", events)
        events = sum(profile.events.get(member, 0) for member in members)
        total = sum(profile.total.get(member, 0.0) for member in members)
        if events >= MIN_PROFILE_EVENTS and total > 0:
            reached = sum(profile.reached.get(member, 0.0) for member in members)
            return Share(reached / total, "unit", events)
    return Share(linear, "linear", 0)
