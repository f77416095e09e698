"""The incremental refresh of the built-in and expression KPIs after CRM data changed.

The engine (``touchline.kpis.engine``) builds every metric from additive components per
seller: counts and sums in whole cents. Those components are kept per seller and day
(``kpi_day_components``) and per seller and calendar month (``kpi_month_components``),
next to what makes a component depend on other days: each account's first-ever won deal
(``kpi_first_wins``: new customers, meetings with new customers) and each deal's first
touch (``kpi_first_touches``: speed to first touch). A refresh after an import:

1. recomputes the first wins of the accounts of the changed deals; where one moved, the
   days of the old and new first win and the meetings of the account between them are
   affected too;
2. recomputes the first touch of the changed deals and of the deals whose first touch
   the changed days of activities can move;
3. derives the components of the affected (seller, day) pairs again from the events,
   then the months holding them;
4. re-aggregates each stored period holding an affected day from the month rows (sums
   grouped by seller, rolled up the unit tree as the engine does), takes the medians
   again only where their events changed, compares every metric with the period's
   stored ones and rewrites the KPI values whose metrics changed.

A period is recomputed whole (``compute_period``) when it was never stored with its
metrics, when the organisation, the metric and expression KPIs or their versions, or the
time zone changed since (its ``basis``), or when it is not made of whole months. Soft,
hand-entered and provided KPIs are not made of CRM events and are left as they are.
"""

from __future__ import annotations

import functools
import time
import typing
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Select,
    SQLColumnExpression,
    Table,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from touchline.config import get_settings
from touchline.crm.importing.changes import Changes, TableChanges
from touchline.crm.models import Activity, Deal
from touchline.db import utcnow
from touchline.kpis.catalogue import Versions, sync_builtin_kpis
from touchline.kpis.compute import (
    PeriodResult,
    Progress,
    company_today,
    compute_period,
    data_span,
    insert_values,
    metric_snapshot,
    period_basis,
    periods_for,
    read_snapshot,
    refresh,
    value_rows,
)
from touchline.kpis.engine import (
    COMPONENTS,
    ByteOrder,
    EpochMilliseconds,
    Organisation,
    load_organisation,
    metrics_from,
    midnights_ms,
    subject_medians,
    won_cycles,
)
from touchline.kpis.expressions import parse
from touchline.kpis.metrics import METRICS
from touchline.kpis.models import (
    COMPANY_SUBJECT_ID,
    ComputedPeriod,
    DayComponents,
    FirstTouch,
    FirstWin,
    Kpi,
    KpiSource,
    KpiValue,
    MonthComponents,
    SubjectKind,
)
from touchline.org.periods import Period, PeriodKind

# Above this many sellers a derivation takes every seller of its days (a list that long
# costs more than it saves); above this many ranges of days, one range from first to last.
SELLERS_LISTED = 1000
RANGES_LISTED = 64
EVENT_SOURCES = (KpiSource.METRIC, KpiSource.EXPRESSION)


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


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Return ``days`` as the fewest inclusive ranges of consecutive days."""
    found: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if found and found[-1][1] + timedelta(days=1) == day:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    if len(found) > RANGES_LISTED:
        return [(found[0][0], found[-1][1])]
    return found


def _on_days(column: SQLColumnExpression[Any], days: Iterable[date] | None) -> ColumnElement[bool]:
    if days is None:
        return true()
    return or_(*[column.between(first, last) for first, last in _ranges(days)])


def _among(
    column: SQLColumnExpression[Any], values: Iterable[int], *, postgres: bool
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL one array parameter (``= ANY``), not one per value."""
    listed = sorted(values)
    if postgres:
        return column == any_(bindparam(None, listed, type_=ARRAY(BigInteger)))
    return column.in_(listed)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class _Where:
    """Days and sellers as bound parameters, so a statement's shape (and its compiled
    form, cached by SQLAlchemy) depends only on how many ranges of days it names."""

    ranges: int | None  # None: every day
    listed: bool  # False: every seller
    postgres: bool = False

    def days(self, column: SQLColumnExpression[Any]) -> ColumnElement[bool]:
        if self.ranges is None:
            return true()
        return or_(
            *[
                column.between(
                    bindparam(f"first{i}", type_=Date), bindparam(f"last{i}", type_=Date)
                )
                for i in range(self.ranges)
            ]
        )

    def sellers(self, column: SQLColumnExpression[Any]) -> ColumnElement[bool]:
        if not self.listed:
            return true()
        if self.postgres:
            return column == any_(bindparam("sellers", type_=ARRAY(BigInteger)))
        return column.in_(bindparam("sellers", expanding=True))


def _where(
    days: Iterable[date] | None, sellers: Collection[int] | None, *, postgres: bool
) -> tuple[_Where, dict[str, Any]]:
    """Return the shape of a condition on ``days`` and ``sellers`` and its parameters."""
    params: dict[str, Any] = {}
    ranges = None
    if days is not None:
        found = _ranges(days)
        ranges = len(found)
        for i, (first, last) in enumerate(found):
            params[f"first{i}"], params[f"last{i}"] = first, last
    if sellers is not None:
        params["sellers"] = sorted(sellers)
    return _Where(ranges, sellers is not None, postgres), params


# --- deriving from the events ----------------------------------------------------------


def _first_wins(
    accounts: Collection[int] | None, *, postgres: bool = False
) -> Select[int | None, int, int, date | None]:
    """Per account, its first-ever won deal: earliest close date, ties by deal id as bytes."""
    earlier = aliased(Deal)
    query = select(Deal.account_id, Deal.id, Deal.seller_id, Deal.close_date).where(
        Deal.status == "won",
        Deal.account_id.is_not(None),
        ~exists().where(
            earlier.account_id == Deal.account_id,
            earlier.status == "won",
            (earlier.close_date < Deal.close_date)
            | and_(
                earlier.close_date == Deal.close_date,
                ByteOrder(earlier.external_id) < ByteOrder(Deal.external_id),
            ),
        ),
    )
    if accounts is not None:
        query = query.where(_among(Deal.account_id, accounts, postgres=postgres))
    return query


def _first_touches(
    deals: Collection[int] | None, *, postgres: bool = False
) -> Select[int, int, date, int, date]:
    """Per deal, its first activity at or after midnight of its created date (by anyone).

    An activity's date in the company's zone grows with its instant, so the earliest
    date is the date of the earliest activity.
    """
    query = (
        select(
            Deal.id,
            Deal.seller_id,
            Deal.created_date,
            func.min(EpochMilliseconds(Activity.occurred_at)),
            func.min(Activity.occurred_on),
        )
        .join(
            Activity,
            and_(Activity.deal_id == Deal.id, Activity.occurred_on >= Deal.created_date),
        )
        .group_by(Deal.id, Deal.seller_id, Deal.created_date)
    )
    if deals is not None:
        query = query.where(_among(Deal.id, deals, postgres=postgres))
    return query


@functools.cache
def _derived(where: _Where) -> Select[Any]:
    """Return (seller_id, day, *COMPONENTS) per seller and day, from the events.

    New customers and meetings with new customers read ``kpi_first_wins``, which must
    already hold the accounts' first wins.
    """
    first_win = FirstWin.__table__.c
    zero = literal(0, BigInteger)

    def shaped(
        seller: SQLColumnExpression[Any],
        day: SQLColumnExpression[Any],
        **values: ColumnElement[Any],
    ) -> list[ColumnElement[Any]]:
        return [
            seller.label("seller_id"),
            day.label("day"),
            *[cast(values.get(name, zero), BigInteger).label(name) for name in COMPONENTS],
        ]

    def count_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    won = Deal.status == "won"
    closed = (
        select(
            *shaped(
                Deal.seller_id,
                Deal.close_date,
                won=count_of(won),
                won_cents=func.sum(case((won, Deal.amount_cents), else_=0)),
                lost=count_of(Deal.status == "lost"),
                new_customers=func.count(first_win.deal_id),
            )
        )
        .select_from(Deal)
        # Through the account (the key of kpi_first_wins): one look-up per deal.
        .outerjoin(
            FirstWin,
            and_(first_win.account_id == Deal.account_id, first_win.deal_id == Deal.id),
        )
        .where(
            Deal.status.in_(("won", "lost")),
            where.days(Deal.close_date),
            where.sellers(Deal.seller_id),
        )
        .group_by(Deal.seller_id, Deal.close_date)
    )
    created = (
        select(
            *shaped(Deal.seller_id, Deal.created_date, pipeline_cents=func.sum(Deal.amount_cents))
        )
        .where(where.days(Deal.created_date), where.sellers(Deal.seller_id))
        .group_by(Deal.seller_id, Deal.created_date)
    )
    meeting = Activity.type == "meeting"
    new_customer = and_(
        meeting,
        Activity.account_id.is_not(None),
        or_(first_win.close_date.is_(None), first_win.close_date >= Activity.occurred_on),
    )
    acts = (
        select(
            *shaped(
                Activity.seller_id,
                Activity.occurred_on,
                calls=count_of(Activity.type == "call"),
                meetings=count_of(meeting),
                emails=count_of(Activity.type == "email"),
                demos=count_of(Activity.type == "demo"),
                social=count_of(Activity.type == "social"),
                meetings_with_outcome=count_of(and_(meeting, Activity.outcome.is_not(None))),
                meetings_next_step=count_of(and_(meeting, Activity.outcome == "next_step_agreed")),
                meetings_new_customers=count_of(new_customer),
            )
        )
        .select_from(Activity)
        .outerjoin(FirstWin, first_win.account_id == Activity.account_id)
        .where(where.days(Activity.occurred_on), where.sellers(Activity.seller_id))
        .group_by(Activity.seller_id, Activity.occurred_on)
    )
    every = union_all(closed, created, acts).subquery()
    return select(
        every.c.seller_id,
        every.c.day,
        *[cast(func.sum(every.c[name]), BigInteger).label(name) for name in COMPONENTS],
    ).group_by(every.c.seller_id, every.c.day)


def _month_end(month: date) -> date:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _month_sums(month: date, where: _Where) -> Select[Any]:
    """(month, seller_id, *COMPONENTS) summed over the day rows of ``where`` in ``month``."""
    day = DayComponents.__table__.c
    return (
        select(
            literal(month, Date).label("month"),
            day.seller_id,
            *[cast(func.sum(day[name]), BigInteger).label(name) for name in COMPONENTS],
        )
        .where(
            day.day.between(month, _month_end(month)),
            where.days(day.day),
            where.sellers(day.seller_id),
        )
        .group_by(day.seller_id)
    )


def _rebuild_months(session: Session, months: Iterable[date]) -> None:
    """Make the month rows of ``months`` (first days) the sums of their day rows."""
    every = _Where(None, False)
    for month in sorted(set(months)):
        session.execute(delete(MonthComponents).where(MonthComponents.month == month))
        session.execute(
            insert(MonthComponents).from_select(
                ["month", "seller_id", *COMPONENTS], _month_sums(month, every)
            )
        )


def _derive_days(session: Session, days: set[date], sellers: set[int] | None) -> None:
    """Derive the day rows of ``days`` x ``sellers`` again; move their months by the
    difference (the old rows' sums out, the new rows' sums in), set-based."""
    where, params = _where(days, sellers, postgres=_postgres(session))
    connection = session.connection()
    month_table = typing.cast(Table, MonthComponents.__table__)
    months = sorted({day.replace(day=1) for day in days})
    for month in months:
        old = _month_sums(month, where).subquery()
        connection.execute(
            update(month_table)
            .where(month_table.c.month == month, month_table.c.seller_id == old.c.seller_id)
            .values({name: month_table.c[name] - old.c[name] for name in COMPONENTS}),
            params,
        )
    connection.execute(
        delete(DayComponents).where(
            where.days(DayComponents.day), where.sellers(DayComponents.seller_id)
        ),
        params,
    )
    connection.execute(
        insert(DayComponents).from_select(["seller_id", "day", *COMPONENTS], _derived(where)),
        params,
    )
    upsert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for month in months:
        added = upsert(month_table).from_select(
            ["month", "seller_id", *COMPONENTS], _month_sums(month, where)
        )
        connection.execute(
            added.on_conflict_do_update(
                index_elements=["month", "seller_id"],
                set_={name: month_table.c[name] + added.excluded[name] for name in COMPONENTS},
            ),
            params,
        )


def rebuild_components(session: Session) -> None:
    """Build every component table afresh from all deals and activities, set-based."""
    for table in (DayComponents, MonthComponents, FirstWin, FirstTouch):
        session.execute(delete(table))
    session.execute(
        insert(FirstWin).from_select(
            ["account_id", "deal_id", "seller_id", "close_date"], _first_wins(None)
        )
    )
    session.execute(
        insert(FirstTouch).from_select(
            ["deal_id", "seller_id", "created_date", "first_touch_ms", "first_touch_on"],
            _first_touches(None),
        )
    )
    session.execute(
        insert(DayComponents).from_select(
            ["seller_id", "day", *COMPONENTS], _derived(_Where(None, False))
        )
    )
    span = session.execute(select(func.min(DayComponents.day), func.max(DayComponents.day))).one()
    if span[0] is not None:
        first, last = span
        months = []
        month = first.replace(day=1)
        while month <= last:
            months.append(month)
            month = _month_end(month) + timedelta(days=1)
        _rebuild_months(session, months)
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, or the planner hashes whole tables for a day's refresh.
        for table in (DayComponents, MonthComponents, FirstWin, FirstTouch):
            session.execute(text(f"ANALYZE {table.__tablename__}"))
    session.flush()


def components_ready(session: Session) -> bool:
    """True when the component tables were built (or there is nothing to build them of)."""
    if session.scalar(select(MonthComponents.seller_id).limit(1)) is not None:
        return True
    return data_span(session) is None


# --- what a change reaches ------------------------------------------------------------


def _moved_first_wins(session: Session, accounts: set[int], affected: Affected) -> None:
    """Recompute the first wins of ``accounts``; add what the moved ones reach."""
    if not accounts:
        return
    table = FirstWin.__table__.c
    listed = sorted(accounts)
    postgres = _postgres(session)
    before = {
        row[0]: row[1:]
        for row in session.execute(
            select(table.account_id, table.deal_id, table.seller_id, table.close_date).where(
                _among(table.account_id, listed, postgres=postgres)
            )
        )
    }
    session.execute(delete(FirstWin).where(_among(table.account_id, listed, postgres=postgres)))
    session.execute(
        insert(FirstWin).from_select(
            ["account_id", "deal_id", "seller_id", "close_date"],
            _first_wins(listed, postgres=postgres),
        )
    )
    after = {
        row[0]: row[1:]
        for row in session.execute(
            select(table.account_id, table.deal_id, table.seller_id, table.close_date).where(
                _among(table.account_id, listed, postgres=postgres)
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
            _among(Activity.account_id, reach, postgres=postgres),
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
    postgres = _postgres(session)
    if activity_days:
        where, params = _where(activity_days, None, postgres=postgres)
        wanted.update(
            session.scalars(select(touch.deal_id).where(where.days(touch.first_touch_on)), params)
        )
        # Driven by the changed days' activities, then their deals' stored first touches
        # by key: never a pass over a whole table.
        earliest = dict(
            session.execute(
                select(Activity.deal_id, func.min(EpochMilliseconds(Activity.occurred_at)))
                .join(Deal, Deal.id == Activity.deal_id)
                .where(where.days(Activity.occurred_on), Activity.occurred_on >= Deal.created_date)
                .group_by(Activity.deal_id),
                params,
            ).all()
        )
        stored: dict[int, int] = {}
        listed = sorted(deal for deal in earliest if deal is not None)
        for chunk in range(0, len(listed), 5000):
            stored.update(
                session.execute(
                    select(touch.deal_id, touch.first_touch_ms).where(
                        _among(touch.deal_id, listed[chunk : chunk + 5000], postgres=postgres)
                    )
                ).all()
            )
        wanted.update(
            deal
            for deal, ms in earliest.items()
            if deal is not None and (deal not in stored or ms < stored[deal])
        )
    if not wanted:
        return
    listed = sorted(wanted)
    shown = select(touch.deal_id, touch.seller_id, touch.created_date, touch.first_touch_ms)
    before = {
        row[0]: row
        for row in session.execute(shown.where(_among(touch.deal_id, listed, postgres=postgres)))
    }
    session.execute(delete(FirstTouch).where(_among(touch.deal_id, listed, postgres=postgres)))
    session.execute(
        insert(FirstTouch).from_select(
            ["deal_id", "seller_id", "created_date", "first_touch_ms", "first_touch_on"],
            _first_touches(listed, postgres=postgres),
        )
    )
    after = {
        row[0]: row
        for row in session.execute(shown.where(_among(touch.deal_id, listed, postgres=postgres)))
    }
    for deal in wanted:
        old, new = before.get(deal), after.get(deal)
        if old != new:
            affected.touch_days.update(row[2] for row in (old, new) if row is not None)


def _affected(session: Session, changes: Changes) -> Affected:
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


# --- refreshing the periods -----------------------------------------------------------


def _month_aligned(period: Period) -> bool:
    return (
        period.kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)
        and period.start.day == 1
        and (period.end + timedelta(days=1)).day == 1
    )


def _summed(
    session: Session, organisation: Organisation, period: Period
) -> dict[str, NDArray[np.int64]]:
    """Return each component per seller over the period's month rows."""
    month = MonthComponents.__table__.c
    rows = session.execute(
        select(month.seller_id, *[cast(func.sum(month[name]), BigInteger) for name in COMPONENTS])
        .where(month.month.between(period.start, period.end))
        .group_by(month.seller_id)
    ).all()
    n = len(organisation.seller_ids)
    components = {name: np.zeros(n, dtype=np.int64) for name in COMPONENTS}
    if not rows:
        return components
    table = np.array([tuple(row) for row in rows], dtype=np.int64)
    known = np.isin(table[:, 0], organisation.seller_ids)
    table = table[known]
    index = organisation.seller_index(table[:, 0])
    for position, name in enumerate(COMPONENTS, start=1):
        components[name][index] = table[:, position]
    return components


def _touch_medians(
    session: Session, organisation: Organisation, period: Period, zone: ZoneInfo
) -> NDArray[np.float64]:
    touch = FirstTouch.__table__.c
    rows = session.execute(
        select(touch.seller_id, touch.created_date, touch.first_touch_ms).where(
            touch.created_date.between(period.start, period.end)
        )
    ).all()
    known = set(organisation.seller_ids.tolist())
    rows = [row for row in rows if row[0] in known]
    sellers = organisation.seller_index(np.array([row[0] for row in rows], dtype=np.int64))
    offsets = np.array([(row[1] - period.start).days for row in rows], dtype=np.int64)
    first_ms = np.array([row[2] for row in rows], dtype=np.int64)
    midnight = midnights_ms(period.start, period.end, zone)
    hours = (first_ms - midnight[offsets]) / 3_600_000.0
    return subject_medians(organisation, sellers, hours)


def _same(new: NDArray[np.float64], old: NDArray[np.float64]) -> NDArray[np.bool_]:
    same: NDArray[np.bool_] = (new == old) | (np.isnan(new) & np.isnan(old))
    return same


def _refresh_period(
    session: Session,
    period: Period,
    *,
    organisation: Organisation,
    kpis: list[Kpi],
    versions: Versions,
    affected: Affected,
    zone: ZoneInfo,
    trigger: str,
) -> PeriodResult:
    """Refresh one stored period from the components, or whole when it cannot be."""
    started = time.perf_counter()
    record = session.get(ComputedPeriod, period.label)
    basis = period_basis(organisation, kpis, versions, period, zone)
    stored = read_snapshot(record, organisation) if record is not None else None
    if record is None or record.basis != basis or stored is None or not _month_aligned(period):
        return compute_period(
            session, period, zone=zone, organisation=organisation, trigger=trigger
        )
    cycle = stored["sales_cycle_days"]
    if any(period.contains(day) for day in affected.cycle_days):
        cycle_seller, cycle_days = won_cycles(
            session.connection(), organisation, period.start, period.end
        )
        cycle = subject_medians(organisation, cycle_seller, cycle_days)
    touch = stored["speed_to_first_touch_h"]
    if any(period.contains(day) for day in affected.touch_days):
        touch = _touch_medians(session, organisation, period, zone)
    metrics = metrics_from(
        organisation,
        _summed(session, organisation, period),
        sales_cycle_days=cycle,
        speed_to_first_touch_h=touch,
    )
    changed = {code: ~_same(metrics[code], stored[code]) for code in METRICS}
    # The KPIs whose metrics moved for some subject, and those subjects: their values
    # are written again (a few unmoved ones among them cost less than a finer delete).
    moved_kpis = []
    moved = np.zeros(organisation.n_subjects, dtype=bool)
    for kpi in kpis:
        version = versions.in_force(kpi.id, period.start)
        if kpi.source == KpiSource.METRIC:
            uses = {version.formula or kpi.code}
        else:
            uses = set(parse(version.formula, known=METRICS).names)
        reach = np.zeros(organisation.n_subjects, dtype=bool)
        for code in uses:
            reach |= changed[code]
        if reach.any():
            moved_kpis.append(kpi)
            moved |= reach
    positions = np.flatnonzero(moved)
    rows = value_rows(organisation, period, moved_kpis, versions, metrics, {}, positions=positions)
    kpi_ids = [kpi.id for kpi in moved_kpis]
    postgres = _postgres(session)
    for kind, subjects in _subjects_at(organisation, positions).items():
        for chunk in range(0, len(subjects), 5000):
            session.execute(
                delete(KpiValue).where(
                    KpiValue.period == period.label,
                    KpiValue.subject_kind == kind,
                    _among(KpiValue.kpi_id, kpi_ids, postgres=postgres),
                    _among(KpiValue.subject_id, subjects[chunk : chunk + 5000], postgres=postgres),
                )
            )
    insert_values(session, rows)
    elapsed = time.perf_counter() - started
    record.metrics = metric_snapshot(metrics)
    record.computed_at, record.duration_s, record.trigger = utcnow(), elapsed, trigger
    session.flush()
    return PeriodResult(period.label, len(rows), elapsed, len(rows), whole=False)


def _subjects_at(organisation: Organisation, positions: NDArray[np.int64]) -> dict[str, list[int]]:
    """Return the ids of the subjects at ``positions``, by kind."""
    n_sellers = len(organisation.seller_ids)
    n_units = len(organisation.unit_ids)
    sellers = positions[positions < n_sellers]
    units = positions[(positions >= n_sellers) & (positions < n_sellers + n_units)] - n_sellers
    found: dict[str, list[int]] = {}
    if len(sellers):
        found[SubjectKind.SELLER.value] = organisation.seller_ids[sellers].tolist()
    if len(units):
        found[SubjectKind.UNIT.value] = organisation.unit_ids[units].tolist()
    if (positions == n_sellers + n_units).any():
        found[SubjectKind.COMPANY.value] = [COMPANY_SUBJECT_ID]
    return found


def refresh_events(
    session: Session,
    *,
    changes: Changes,
    trigger: str,
    progress: Progress | None = None,
) -> list[PeriodResult]:
    """Refresh the stored KPI values after the deals and activities ``changes`` names.

    With ``changes.everything`` (the organisation changed, accounts were pruned, too many
    rows to list) the components are rebuilt and every stored period holding data is
    recomputed whole. Otherwise see the module's description. Runs in the caller's
    transaction.
    """
    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    if changes.everything:
        rebuild_components(session)
        span = data_span(session)
        return refresh(session, spans=[span] if span else [], trigger=trigger, progress=progress)
    if not components_ready(session):
        rebuild_components(session)
    affected = _affected(session, changes)
    for days, listed in affected.pairs:
        _derive_days(session, days, listed)

    touched = affected.days | affected.touch_days | affected.cycle_days
    computed = set(session.scalars(select(ComputedPeriod.period)))
    today = company_today()
    wanted: dict[str, Period] = {}
    for first, last in _ranges(touched) if len(touched) < 400 else [(min(touched), max(touched))]:
        for period in periods_for(first, last, fiscal_start_month=settings.fiscal_year_start_month):
            if period.label in computed or period.contains(today):
                wanted.setdefault(period.label, period)
    if not wanted:
        return []
    sync_builtin_kpis(session)
    organisation = load_organisation(session.connection())
    kpis = list(
        session.scalars(
            select(Kpi)
            .where(Kpi.status != "retired", Kpi.source.in_(EVENT_SOURCES))
            .order_by(Kpi.id)
        )
    )
    versions = Versions.load(session)
    results = []
    for period in sorted(wanted.values(), key=lambda p: (p.kind, p.start)):
        results.append(
            _refresh_period(
                session,
                period,
                organisation=organisation,
                kpis=kpis,
                versions=versions,
                affected=affected,
                zone=zone,
                trigger=trigger,
            )
        )
        if progress:
            progress(period.label)
    return results


def changes_on_days(session: Session, days: Iterable[date]) -> Changes:
    """Return the changes of every deal and activity on ``days``, as an import of those
    days' rows reports them (for a refresh without an import, and the benchmark)."""
    listed = sorted(set(days))
    changes = Changes()
    activities = changes.table("activities")
    for seller, deal, account in session.execute(
        select(Activity.seller_id, Activity.deal_id, Activity.account_id)
        .where(_on_days(Activity.occurred_on, listed))
        .distinct()
    ):
        activities.sellers.add(seller)
        if deal is not None:
            activities.deals.add(deal)
        if account is not None:
            activities.accounts.add(account)
    activities.days = set(listed)
    deals = changes.table("deals")
    for deal, seller, account, created, closed in session.execute(
        select(Deal.id, Deal.seller_id, Deal.account_id, Deal.created_date, Deal.close_date).where(
            or_(_on_days(Deal.created_date, listed), _on_days(Deal.close_date, listed))
        )
    ):
        deals.deals.add(deal)
        deals.sellers.add(seller)
        if account is not None:
            deals.accounts.add(account)
        deals.days.update(day for day in (created, closed) if day is not None)
    return changes
