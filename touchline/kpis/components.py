"""The component tables the incremental refresh works from, and deriving them.

``kpi_day_components`` holds per seller and day the additive components the engine builds
every metric from (``touchline.kpis.engine.COMPONENTS``), ``kpi_month_components`` the same
per calendar month, ``kpi_first_wins`` each account's first-ever won deal and
``kpi_first_touches`` each deal's first activity at or after its creation. Everything
here is set-based SQL: the first build over all events (``rebuild_components``) and the
derivation of given days and sellers again (``derive_days``), which moves their months
by the difference.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

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

from touchline.crm.models import Activity, Deal
from touchline.kpis.compute import (
    data_span,
)
from touchline.kpis.engine import (
    COMPONENTS,
    ByteOrder,
    EpochMilliseconds,
)
from touchline.kpis.models import (
    DayComponents,
    FirstTouch,
    FirstWin,
    MonthComponents,
)

# Above this many sellers a derivation takes every seller of its days (a list that long
# costs more than it saves); above this many ranges of days, one range from first to last.
SELLERS_LISTED = 1000
RANGES_LISTED = 64


def ranges(days: Iterable[date]) -> list[tuple[date, date]]:
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


def on_days(column: SQLColumnExpression[Any], days: Iterable[date] | None) -> ColumnElement[bool]:
    if days is None:
        return true()
    return or_(*[column.between(first, last) for first, last in ranges(days)])


def among(
    column: SQLColumnExpression[Any], values: Iterable[int], *, postgres: bool
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL one array parameter (``= ANY``), not one per value."""
    listed = sorted(values)
    if postgres:
        return column == any_(bindparam(None, listed, type_=ARRAY(BigInteger)))
    return column.in_(listed)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class Where:
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


def where_of(
    days: Iterable[date] | None, sellers: Collection[int] | None, *, postgres: bool
) -> tuple[Where, dict[str, Any]]:
    """Return the shape of a condition on ``days`` and ``sellers`` and its parameters."""
    params: dict[str, Any] = {}
    count = None
    if days is not None:
        found = ranges(days)
        count = len(found)
        for i, (first, last) in enumerate(found):
            params[f"first{i}"], params[f"last{i}"] = first, last
    if sellers is not None:
        params["sellers"] = sorted(sellers)
    return Where(count, sellers is not None, postgres), params


# --- deriving from the events ----------------------------------------------------------


def first_wins_query(
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
        query = query.where(among(Deal.account_id, accounts, postgres=postgres))
    return query


def first_touches_query(
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
        query = query.where(among(Deal.id, deals, postgres=postgres))
    return query


@functools.cache
def _derived(where: Where) -> Select[Any]:
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


def month_end(month: date) -> date:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _month_sums(month: date, where: Where) -> Select[Any]:
    """(month, seller_id, *COMPONENTS) summed over the day rows of ``where`` in ``month``."""
    day = DayComponents.__table__.c
    return (
        select(
            literal(month, Date).label("month"),
            day.seller_id,
            *[cast(func.sum(day[name]), BigInteger).label(name) for name in COMPONENTS],
        )
        .where(
            day.day.between(month, month_end(month)),
            where.days(day.day),
            where.sellers(day.seller_id),
        )
        .group_by(day.seller_id)
    )


def _rebuild_months(session: Session, months: Iterable[date]) -> None:
    """Make the month rows of ``months`` (first days) the sums of their day rows."""
    every = Where(None, False)
    for month in sorted(set(months)):
        session.execute(delete(MonthComponents).where(MonthComponents.month == month))
        session.execute(
            insert(MonthComponents).from_select(
                ["month", "seller_id", *COMPONENTS], _month_sums(month, every)
            )
        )


def derive_days(session: Session, days: set[date], sellers: set[int] | None) -> None:
    """Derive the day rows of ``days`` x ``sellers`` again; move their months by the
    difference (the old rows' sums out, the new rows' sums in), set-based."""
    where, params = where_of(days, sellers, postgres=is_postgres(session))
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
            ["account_id", "deal_id", "seller_id", "close_date"], first_wins_query(None)
        )
    )
    session.execute(
        insert(FirstTouch).from_select(
            ["deal_id", "seller_id", "created_date", "first_touch_ms", "first_touch_on"],
            first_touches_query(None),
        )
    )
    session.execute(
        insert(DayComponents).from_select(
            ["seller_id", "day", *COMPONENTS], _derived(Where(None, False))
        )
    )
    span = session.execute(select(func.min(DayComponents.day), func.max(DayComponents.day))).one()
    if span[0] is not None:
        first, last = span
        months = []
        month = first.replace(day=1)
        while month <= last:
            months.append(month)
            month = month_end(month) + timedelta(days=1)
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
