"""What a change of deals and activities reaches, beyond the rows themselves.

A deal can move its account's first win, and so the new customers of other deals and
the new-customer meetings of other days and sellers; an activity can move the first
touch of a deal created on another day. ``affected_by`` brings ``kpi_first_wins`` and
``kpi_first_touches`` up to date for a ``Changes`` and returns every (days, sellers)
pair to derive again and the days whose medians' events changed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from touchline.crm.importing.changes import Changes, TableChanges
from touchline.crm.models import Activity, Deal
from touchline.kpis.components import (
    SELLERS_LISTED,
    among,
    first_touches_query,
    first_wins_query,
    is_postgres,
    where_of,
)
from touchline.kpis.engine import (
    EpochMilliseconds,
)
from touchline.kpis.models import (
    FirstTouch,
    FirstWin,
)


@dataclass
class Affected:
    """What a refresh has to redo: (days, sellers) to derive again (None: every seller),
    the days whose medians' events changed."""

    pairs: list[tuple[set[date], set[int] | None]] = field(default_factory=list)
    touch_days: set[date] = field(default_factory=set)
    cycle_days: set[date] = field(default_factory=set)

    def add(self, days: Iterable[date], sellers: Collection[int] | None) -> None:
        days = set(days)
        if days:
            listed = None if sellers is None or len(sellers) > SELLERS_LISTED else set(sellers)
            self.pairs.append((days, listed))

    @property
    def days(self) -> set[date]:
        return {day for days, _sellers in self.pairs for day in days}


# --- what a change reaches ------------------------------------------------------------


def _moved_first_wins(session: Session, accounts: set[int], affected: Affected) -> None:
    """Recompute the first wins of ``accounts``; add what the moved ones reach."""
    if not accounts:
        return
    table = FirstWin.__table__.c
    listed = sorted(accounts)
    postgres = is_postgres(session)
    before = {
        row[0]: row[1:]
        for row in session.execute(
            select(table.account_id, table.deal_id, table.seller_id, table.close_date).where(
                among(table.account_id, listed, postgres=postgres)
            )
        )
    }
    session.execute(delete(FirstWin).where(among(table.account_id, listed, postgres=postgres)))
    session.execute(
        insert(FirstWin).from_select(
            ["account_id", "deal_id", "seller_id", "close_date"],
            first_wins_query(listed, postgres=postgres),
        )
    )
    after = {
        row[0]: row[1:]
        for row in session.execute(
            select(table.account_id, table.deal_id, table.seller_id, table.close_date).where(
                among(table.account_id, listed, postgres=postgres)
            )
        )
    }
    # Meetings of an account count as with a new customer up to its first win's close
    # date: moving that date changes the meetings between the old and the new one.
    reach: dict[int, tuple[date, date | None]] = {}
    for account in accounts:
        old, new = before.get(account), after.get(account)
        if old == new:
            continue
        affected.add(
            [row[2] for row in (old, new) if row is not None],
            {row[1] for row in (old, new) if row is not None},
        )
        closes = [row[2] for row in (old, new) if row is not None]
        if old is None or new is None:
            reach[account] = (closes[0], None)
        elif old[2] != new[2]:
            reach[account] = (min(closes), max(closes))
    if not reach:
        return
    meetings = session.execute(
        select(Activity.account_id, Activity.seller_id, Activity.occurred_on)
        .where(
            Activity.type == "meeting",
            among(Activity.account_id, reach, postgres=postgres),
            Activity.occurred_on > min(low for low, _high in reach.values()),
        )
        .distinct()
    ).all()
    days: set[date] = set()
    sellers: set[int] = set()
    for account_id, seller, day in meetings:
        assert account_id is not None
        low, high = reach[account_id]
        if day > low and (high is None or day <= high):
            days.add(day)
            sellers.add(seller)
    affected.add(days, sellers)


def _moved_first_touches(
    session: Session, deals: set[int], activity_days: set[date], affected: Affected
) -> None:
    """Recompute the first touches that may have moved; add the created dates of those
    that did.

    Changed deals are recomputed. A changed activity keeps its old and new days among
    ``activity_days``, so a deal's first touch can move only when it was on one of them,
    or when an activity of those days, at or after the deal's creation, comes before it.
    """
    touch = FirstTouch.__table__.c
    wanted = set(deals)
    postgres = is_postgres(session)
    if activity_days:
        where, params = where_of(activity_days, None, postgres=postgres)
        wanted.update(
            session.scalars(select(touch.deal_id).where(where.days(touch.first_touch_on)), params)
        )
        # Driven by the changed days' activities, then their deals (created dates) and
        # stored first touches by key: never a pass over a whole table. An activity
        # counts from its deal's created date on, and a day's activities share their date.
        earliest: dict[tuple[int, date], int] = {
            (deal, day): ms
            for deal, day, ms in session.execute(
                select(
                    Activity.deal_id,
                    Activity.occurred_on,
                    func.min(EpochMilliseconds(Activity.occurred_at)),
                )
                .where(where.days(Activity.occurred_on), Activity.deal_id.is_not(None))
                .group_by(Activity.deal_id, Activity.occurred_on),
                params,
            )
            if deal is not None
        }
        listed = sorted({deal for deal, _day in earliest})
        created: dict[int, date] = {}
        stored: dict[int, int] = {}
        for chunk in range(0, len(listed), 5000):
            part = listed[chunk : chunk + 5000]
            created.update(
                session.execute(
                    select(Deal.id, Deal.created_date).where(
                        among(Deal.id, part, postgres=postgres)
                    )
                ).all()
            )
            stored.update(
                session.execute(
                    select(touch.deal_id, touch.first_touch_ms).where(
                        among(touch.deal_id, part, postgres=postgres)
                    )
                ).all()
            )
        wanted.update(
            deal
            for (deal, day), ms in earliest.items()
            if day >= created[deal] and (deal not in stored or ms < stored[deal])
        )
    if not wanted:
        return
    listed = sorted(wanted)
    shown = select(touch.deal_id, touch.seller_id, touch.created_date, touch.first_touch_ms)
    before = {
        row[0]: row
        for row in session.execute(shown.where(among(touch.deal_id, listed, postgres=postgres)))
    }
    session.execute(delete(FirstTouch).where(among(touch.deal_id, listed, postgres=postgres)))
    session.execute(
        insert(FirstTouch).from_select(
            ["deal_id", "seller_id", "created_date", "first_touch_ms", "first_touch_on"],
            first_touches_query(listed, postgres=postgres),
        )
    )
    after = {
        row[0]: row
        for row in session.execute(shown.where(among(touch.deal_id, listed, postgres=postgres)))
    }
    for deal in wanted:
        old, new = before.get(deal), after.get(deal)
        if old != new:
            affected.touch_days.update(row[2] for row in (old, new) if row is not None)


def affected_by(session: Session, changes: Changes) -> Affected:
    """Bring the first wins and first touches up to date; return what must be redone."""
    affected = Affected()
    deals = changes.tables.get("deals", TableChanges("deals"))
    activities = changes.tables.get("activities", TableChanges("activities"))
    affected.add(deals.days, deals.sellers)
    affected.add(activities.days, activities.sellers)
    affected.cycle_days = set(deals.days)
    _moved_first_wins(session, deals.accounts, affected)
    _moved_first_touches(session, deals.deals, activities.days, affected)
    return affected
