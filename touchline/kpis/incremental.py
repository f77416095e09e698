"""The incremental refresh of the built-in and expression KPIs after CRM data changed.

The engine (``touchline.kpis.engine``) builds every metric from additive components per
seller: counts and sums in whole cents. Those components are kept per seller and day
(``kpi_day_components``) and per seller and calendar month (``kpi_month_components``),
next to what makes a component depend on other days: each account's first-ever won deal
(``kpi_first_wins``: new customers, meetings with new customers) and each deal's first
touch (``kpi_first_touches``: speed to first touch); ``touchline.kpis.components``
derives them, ``touchline.kpis.affected`` finds what a change reaches. A refresh after
an import:

1. recomputes the first wins of the accounts of the changed deals; where one moved, the
   days of the old and new first win and the meetings of the account between them are
   affected too;
2. recomputes the first touch of the changed deals and of the deals whose first touch
   the changed days of activities can move;
3. derives the components of the affected (seller, day) pairs again from the events,
   and moves the months holding them by the difference;
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

import time
from collections.abc import Iterable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    BigInteger,
    cast,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from touchline.config import get_settings
from touchline.crm.importing.changes import Changes
from touchline.crm.models import Activity, Deal
from touchline.db import utcnow
from touchline.kpis.affected import Affected, affected_by
from touchline.kpis.catalogue import Versions, sync_builtin_kpis
from touchline.kpis.components import (
    among,
    components_ready,
    derive_days,
    is_postgres,
    on_days,
    ranges,
    rebuild_components,
)
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
    FirstTouch,
    Kpi,
    KpiSource,
    KpiValue,
    MonthComponents,
    SubjectKind,
)
from touchline.org.periods import Period, PeriodKind

EVENT_SOURCES = (KpiSource.METRIC, KpiSource.EXPRESSION)

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
    postgres = is_postgres(session)
    for kind, subjects in _subjects_at(organisation, positions).items():
        for chunk in range(0, len(subjects), 5000):
            session.execute(
                delete(KpiValue).where(
                    KpiValue.period == period.label,
                    KpiValue.subject_kind == kind,
                    among(KpiValue.kpi_id, kpi_ids, postgres=postgres),
                    among(KpiValue.subject_id, subjects[chunk : chunk + 5000], postgres=postgres),
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
    affected = affected_by(session, changes)
    for days, listed in affected.pairs:
        derive_days(session, days, listed)

    touched = affected.days | affected.touch_days | affected.cycle_days
    computed = set(session.scalars(select(ComputedPeriod.period)))
    today = company_today()
    wanted: dict[str, Period] = {}
    for first, last in ranges(touched) if len(touched) < 400 else [(min(touched), max(touched))]:
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
        .where(on_days(Activity.occurred_on, listed))
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
            or_(on_days(Deal.created_date, listed), on_days(Deal.close_date, listed))
        )
    ):
        deals.deals.add(deal)
        deals.sellers.add(seller)
        if account is not None:
            deals.accounts.add(account)
        deals.days.update(day for day in (created, closed) if day is not None)
    return changes
