"""The computation of the built-in metrics for one period: every seller, unit and the company.

The work is done on whole sets. A handful of grouped SQL queries gather, per seller, the
components every metric is made of (counts and sums in whole cents, exact on both
databases), and the few per-deal values the medians need. NumPy then rolls the components
up the unit tree: a unit's value is made of all its sellers' events, never an average of
their values, and a seller counts for the unit they belong to now. Medians for units and
the company are taken over the pooled events, not over seller medians.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Integer, and_, case, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from touchline.crm.models import Activity, Deal
from touchline.org.models import Seller, Unit

EPOCH = date(1970, 1, 1)

# The per-seller components, summable up the unit tree.
COMPONENTS = (
    "won",
    "won_cents",
    "lost",
    "new_customers",
    "pipeline_cents",
    "calls",
    "meetings",
    "emails",
    "demos",
    "social",
    "meetings_with_outcome",
    "meetings_next_step",
    "meetings_new_customers",
)
ACTIVITY_COMPONENT = {
    "call": "calls",
    "meeting": "meetings",
    "email": "emails",
    "demo": "demos",
    "social": "social",
}


class DayNumber(FunctionElement[int]):
    """Days from 1970-01-01 to a date column, on SQLite and PostgreSQL alike."""

    type = Integer()
    inherit_cache = True


@compiles(DayNumber, "sqlite")
def _day_number_sqlite(element: DayNumber, compiler: Any, **kw: Any) -> str:
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(DayNumber, "postgresql")
def _day_number_postgresql(element: DayNumber, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} - DATE '1970-01-01')"


class EpochMilliseconds(FunctionElement[int]):
    """Milliseconds from 1970-01-01T00:00Z to a UTC timestamp column."""

    type = Integer()
    inherit_cache = True


@compiles(EpochMilliseconds, "sqlite")
def _epoch_ms_sqlite(element: EpochMilliseconds, compiler: Any, **kw: Any) -> str:
    # julianday counts whole milliseconds inside SQLite, so rounding gives them back exactly.
    argument = compiler.process(element.clauses, **kw)
    return f"CAST(ROUND((julianday({argument}) - 2440587.5) * 86400000.0) AS INTEGER)"


@compiles(EpochMilliseconds, "postgresql")
def _epoch_ms_postgresql(element: EpochMilliseconds, compiler: Any, **kw: Any) -> str:
    argument = compiler.process(element.clauses, **kw)
    return f"CAST(ROUND(EXTRACT(EPOCH FROM {argument}) * 1000) AS BIGINT)"


class ByteOrder(FunctionElement[str]):
    """A string column compared as plain bytes (``D10`` before ``D9``) on either database."""

    inherit_cache = True


@compiles(ByteOrder, "sqlite")
def _byte_order_sqlite(element: ByteOrder, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.clauses, **kw)} COLLATE BINARY"


@compiles(ByteOrder, "postgresql")
def _byte_order_postgresql(element: ByteOrder, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


@dataclass(frozen=True)
class Organisation:
    """The sellers and units of the company and who rolls up into what, as index arrays.

    Subjects are numbered: sellers first (0..n_sellers-1), then units, then the company.
    """

    seller_ids: NDArray[np.int64]
    unit_ids: NDArray[np.int64]
    # membership[u, s] is 1 when seller s counts for unit u (their unit or one above it).
    membership: NDArray[np.int64]

    @property
    def n_subjects(self) -> int:
        return len(self.seller_ids) + len(self.unit_ids) + 1

    def seller_index(self, seller_ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Return the positions of ``seller_ids`` among the sellers (all must be known)."""
        return np.searchsorted(self.seller_ids, seller_ids).astype(np.int64)


def load_organisation(connection: Connection) -> Organisation:
    """Return the current organisation: every seller, active or not, and every unit."""
    units = connection.execute(select(Unit.id, Unit.parent_id).order_by(Unit.id)).all()
    sellers = connection.execute(select(Seller.id, Seller.unit_id).order_by(Seller.id)).all()
    unit_ids = np.array([row.id for row in units], dtype=np.int64)
    seller_ids = np.array([row.id for row in sellers], dtype=np.int64)
    parent = {row.id: row.parent_id for row in units}
    position = {unit_id: index for index, unit_id in enumerate(unit_ids.tolist())}
    membership = np.zeros((len(unit_ids), len(seller_ids)), dtype=np.int64)
    for column, row in enumerate(sellers):
        unit: int | None = row.unit_id
        # The tree is refused with a cycle on every write, so this walk ends.
        while unit is not None:
            membership[position[unit], column] = 1
            unit = parent[unit]
    return Organisation(seller_ids, unit_ids, membership)


@dataclass
class Gathered:
    """What the database gives for one period: per-seller components and median inputs."""

    components: dict[str, NDArray[np.int64]]
    cycle_seller: NDArray[np.int64]
    cycle_days: NDArray[np.float64]
    touch_seller: NDArray[np.int64]
    touch_hours: NDArray[np.float64]


def gather(
    connection: Connection,
    organisation: Organisation,
    start: date,
    end: date,
    *,
    zone: ZoneInfo,
) -> Gathered:
    """Return the components of every seller for ``start``..``end`` (inclusive dates)."""
    n = len(organisation.seller_ids)
    components = {name: np.zeros(n, dtype=np.int64) for name in COMPONENTS}

    def add(name: str, sellers: Sequence[int], values: Sequence[int]) -> None:
        if sellers:
            index = organisation.seller_index(np.asarray(sellers, dtype=np.int64))
            np.add.at(components[name], index, np.asarray(values, dtype=np.int64))

    # SQLite is pinned to the covering indexes: without statistics its planner would walk a
    # per-seller index to save a sort and read the whole table instead of one period.
    closed = connection.execute(
        select(
            Deal.seller_id,
            func.sum(case((Deal.status == "won", 1), else_=0)),
            func.sum(case((Deal.status == "won", Deal.amount_cents), else_=0)),
            func.sum(case((Deal.status == "lost", 1), else_=0)),
        )
        .where(Deal.close_date.between(start, end), Deal.status.in_(("won", "lost")))
        .group_by(Deal.seller_id)
        .with_hint(Deal, "INDEXED BY ix_deals_close", "sqlite")
    ).all()
    sellers = [row[0] for row in closed]
    add("won", sellers, [int(row[1]) for row in closed])
    add("won_cents", sellers, [int(row[2]) for row in closed])
    add("lost", sellers, [int(row[3]) for row in closed])

    earlier = aliased(Deal)
    first_wins = connection.execute(
        select(Deal.seller_id, func.count())
        .where(
            Deal.status == "won",
            Deal.account_id.is_not(None),
            Deal.close_date.between(start, end),
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
        .group_by(Deal.seller_id)
        .with_hint(Deal, "INDEXED BY ix_deals_close", "sqlite")
    ).all()
    add("new_customers", [row[0] for row in first_wins], [int(row[1]) for row in first_wins])

    created = connection.execute(
        select(Deal.seller_id, func.sum(Deal.amount_cents))
        .where(Deal.created_date.between(start, end))
        .group_by(Deal.seller_id)
        .with_hint(Deal, "INDEXED BY ix_deals_created", "sqlite")
    ).all()
    add("pipeline_cents", [row[0] for row in created], [int(row[1]) for row in created])

    activities = connection.execute(
        select(
            Activity.seller_id,
            Activity.type,
            func.count(),
            func.count(Activity.outcome),
            func.sum(case((Activity.outcome == "next_step_agreed", 1), else_=0)),
        )
        .where(Activity.occurred_on.between(start, end))
        .group_by(Activity.seller_id, Activity.type)
        .with_hint(Activity, "INDEXED BY ix_activities_on", "sqlite")
    ).all()
    for kind, component in ACTIVITY_COMPONENT.items():
        rows = [row for row in activities if row[1] == kind]
        add(component, [row[0] for row in rows], [int(row[2]) for row in rows])
    meetings = [row for row in activities if row[1] == "meeting"]
    add("meetings_with_outcome", [row[0] for row in meetings], [int(row[3]) for row in meetings])
    add("meetings_next_step", [row[0] for row in meetings], [int(row[4]) for row in meetings])

    won_before = aliased(Deal)
    new_customer_meetings = connection.execute(
        select(Activity.seller_id, func.count())
        .where(
            Activity.type == "meeting",
            Activity.occurred_on.between(start, end),
            Activity.account_id.is_not(None),
            ~exists().where(
                won_before.account_id == Activity.account_id,
                won_before.status == "won",
                won_before.close_date < Activity.occurred_on,
            ),
        )
        .group_by(Activity.seller_id)
        .with_hint(Activity, "INDEXED BY ix_activities_on", "sqlite")
    ).all()
    add(
        "meetings_new_customers",
        [row[0] for row in new_customer_meetings],
        [int(row[1]) for row in new_customer_meetings],
    )

    cycle_seller, cycle_days = won_cycles(connection, organisation, start, end)

    # An activity is at or after midnight of the created date (in the company's zone)
    # exactly when its own date in that zone is on or after the created date.
    touches = connection.execute(
        select(
            Deal.seller_id,
            DayNumber(Deal.created_date),
            func.min(EpochMilliseconds(Activity.occurred_at)),
        )
        .join(
            Activity,
            and_(Activity.deal_id == Deal.id, Activity.occurred_on >= Deal.created_date),
        )
        .where(Deal.created_date.between(start, end))
        .group_by(Deal.id, Deal.seller_id, Deal.created_date)
        .with_hint(Deal, "INDEXED BY ix_deals_created", "sqlite")
        .with_hint(Activity, "INDEXED BY ix_activities_deal", "sqlite")
    ).all()
    touch_seller = organisation.seller_index(np.array([row[0] for row in touches], dtype=np.int64))
    day_numbers = np.array([row[1] for row in touches], dtype=np.int64)
    first_touch_ms = np.array([row[2] for row in touches], dtype=np.int64)
    midnight_ms = midnights_ms(start, end, zone)
    touch_hours = (first_touch_ms - midnight_ms[day_numbers - (start - EPOCH).days]) / 3_600_000.0

    return Gathered(components, cycle_seller, cycle_days, touch_seller, touch_hours)


def won_cycles(
    connection: Connection, organisation: Organisation, start: date, end: date
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return the seller position and the days from creation to close of each deal won
    with its close date in ``start``..``end``."""
    cycles = connection.execute(
        select(Deal.seller_id, DayNumber(Deal.close_date) - DayNumber(Deal.created_date))
        .where(Deal.status == "won", Deal.close_date.between(start, end))
        .with_hint(Deal, "INDEXED BY ix_deals_close", "sqlite")
    ).all()
    cycle_seller = organisation.seller_index(np.array([row[0] for row in cycles], dtype=np.int64))
    return cycle_seller, np.array([row[1] for row in cycles], dtype=np.float64)


def midnights_ms(start: date, end: date, zone: ZoneInfo) -> NDArray[np.int64]:
    """Return, for each day of ``start``..``end``, its first instant in ``zone`` in epoch ms."""
    days = (end - start).days + 1
    found = np.empty(days, dtype=np.int64)
    for offset in range(days):
        day = start + timedelta(days=offset)
        # fold=0 and a wall time that may not exist: normalise through UTC, so a zone that
        # skips midnight starts the day at its first real instant.
        local = datetime.combine(day, time(0), tzinfo=zone)
        instant = local.astimezone(UTC)
        if instant.astimezone(zone).date() != day:
            instant = _first_instant_of(day, zone)
        found[offset] = int(instant.timestamp() * 1000)
    return found


def _first_instant_of(day: date, zone: ZoneInfo) -> datetime:
    # Only reached in zones whose clocks jump over midnight: search the hour after it.
    probe = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=30)
    while probe.astimezone(zone).date() < day:
        probe += timedelta(minutes=15)
    return probe


def subject_sums(organisation: Organisation, values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return a per-seller array extended to every subject: sellers, units, company."""
    return np.concatenate((values, organisation.membership @ values, [values.sum()]))


def subject_medians(
    organisation: Organisation, seller_positions: NDArray[np.int64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the median of ``values`` per subject (NaN where a subject has none).

    Each value belongs to a seller, every unit above that seller, and the company; an even
    count gives the mean of the two middle values.
    """
    n_sellers = len(organisation.seller_ids)
    n_units = len(organisation.unit_ids)
    units_of_seller = organisation.membership.T.astype(bool)
    groups = [seller_positions]
    members = [values]
    unit_rows, seller_columns = np.nonzero(units_of_seller[seller_positions])
    groups.append(n_sellers + seller_columns.astype(np.int64))
    members.append(values[unit_rows])
    groups.append(np.full(len(values), n_sellers + n_units, dtype=np.int64))
    members.append(values)
    group = np.concatenate(groups)
    value = np.concatenate(members)
    order = np.lexsort((value, group))
    group, value = group[order], value[order]
    counts = np.bincount(group, minlength=organisation.n_subjects)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    medians = np.full(organisation.n_subjects, np.nan)
    has = counts > 0
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    medians[has] = (value[low] + value[high]) / 2.0
    return medians


def _ratio(numerator: NDArray[np.int64], denominator: NDArray[np.int64]) -> NDArray[np.float64]:
    result = np.full(len(numerator), np.nan)
    has = denominator != 0
    result[has] = numerator[has] / denominator[has]
    return result


def metric_values(organisation: Organisation, gathered: Gathered) -> dict[str, NDArray[np.float64]]:
    """Return every built-in metric per subject; NaN is "no value" (nothing to divide or rank)."""
    return metrics_from(
        organisation,
        gathered.components,
        sales_cycle_days=subject_medians(organisation, gathered.cycle_seller, gathered.cycle_days),
        speed_to_first_touch_h=subject_medians(
            organisation, gathered.touch_seller, gathered.touch_hours
        ),
    )


def metrics_from(
    organisation: Organisation,
    components: dict[str, NDArray[np.int64]],
    *,
    sales_cycle_days: NDArray[np.float64],
    speed_to_first_touch_h: NDArray[np.float64],
) -> dict[str, NDArray[np.float64]]:
    """Return every built-in metric per subject from per-seller components and the medians.

    Money is in the company currency: whole cents divided by 100, so a sum reads back
    exact to the cent when rounded to two places.
    """
    total = {name: subject_sums(organisation, components[name]) for name in COMPONENTS}
    values: dict[str, NDArray[np.float64]] = {
        "revenue_won": total["won_cents"] / 100.0,
        "deals_won": total["won"].astype(np.float64),
        "win_rate": _ratio(total["won"], total["won"] + total["lost"]),
        "avg_deal_size": _ratio(total["won_cents"], total["won"]) / 100.0,
        "new_customers": total["new_customers"].astype(np.float64),
        "pipeline_created": total["pipeline_cents"] / 100.0,
        "meetings": total["meetings"].astype(np.float64),
        "meetings_new_customers": total["meetings_new_customers"].astype(np.float64),
        "calls": total["calls"].astype(np.float64),
        "emails": total["emails"].astype(np.float64),
        "demos": total["demos"].astype(np.float64),
        "social_touches": total["social"].astype(np.float64),
        "meeting_quality": _ratio(total["meetings_next_step"], total["meetings_with_outcome"]),
        "speed_to_first_touch_h": speed_to_first_touch_h,
        "sales_cycle_days": sales_cycle_days,
    }
    return values


def compute(
    connection: Connection,
    start: date,
    end: date,
    *,
    zone: ZoneInfo,
    organisation: Organisation | None = None,
) -> tuple[Organisation, dict[str, NDArray[np.float64]]]:
    """Return the organisation and every built-in metric for every subject for the dates."""
    organisation = organisation or load_organisation(connection)
    gathered = gather(connection, organisation, start, end, zone=zone)
    return organisation, metric_values(organisation, gathered)
