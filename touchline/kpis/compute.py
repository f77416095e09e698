"""Materialised KPI values: every KPI for every seller, unit and the company, per period.

A period is computed as a whole (``compute_period``): the engine gathers the built-in
metrics, expression KPIs are evaluated over them, soft KPIs take their rating and pulse
aggregates, hand-entered KPIs their entries; then the period's stored values are replaced
in the caller's transaction. ``refresh`` recomputes only the periods an import or an edit
touched. Values are stored unrounded; rounding happens on display.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, delete, false, func, select, text
from sqlalchemy.orm import Session

from touchline.config import get_settings
from touchline.crm.importing.changes import Changes
from touchline.crm.importing.report import ImportReport
from touchline.crm.models import Activity, Deal, PulseAnswer, RatingRecord
from touchline.crm.service import AFTER_IMPORT
from touchline.db import utcnow
from touchline.kpis.builtin import PULSE_FIELD
from touchline.kpis.catalogue import Versions, sync_builtin_kpis
from touchline.kpis.engine import Organisation, compute, load_organisation
from touchline.kpis.expressions import parse
from touchline.kpis.metrics import METRICS
from touchline.kpis.models import (
    COMPANY_SUBJECT_ID,
    ComputedPeriod,
    Kpi,
    KpiSource,
    KpiValue,
    ManualEntry,
    SubjectKind,
    TimeAggregation,
)
from touchline.kpis.providers import provided_values
from touchline.org.periods import Period, PeriodError, PeriodKind, parse_period, periods_between

Progress = Callable[[str], None]
# A stored value: kpi, version, period label, period start, subject kind, subject id, value.
ValueRow = tuple[int, int, str, str, str, int, float]


@dataclass(frozen=True)
class PeriodResult:
    """A computed period: how many values it holds, how many were written, how long, and
    whether it was computed whole (else refreshed from components: ``values`` is then the
    number of values rewritten)."""

    period: str
    values: int
    seconds: float
    written: int = 0
    whole: bool = True


def _pooled_mean(
    organisation: Organisation, sums: NDArray[np.float64], counts: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return sums/counts per subject after rolling both up the tree (NaN where no count)."""
    total_sums = np.concatenate((sums, organisation.membership @ sums, [sums.sum()]))
    total_counts = np.concatenate((counts, organisation.membership @ counts, [counts.sum()]))
    result = np.full(len(total_sums), np.nan)
    has = total_counts > 0
    result[has] = total_sums[has] / total_counts[has]
    return result


def _labels_within(labels: Iterable[str], period: Period) -> list[str]:
    """Return the period labels among ``labels`` whose whole span lies inside ``period``."""
    start_month = period.fiscal_start_month
    inside = []
    for label in labels:
        try:
            other = parse_period(label, fiscal_start_month=start_month)
        except PeriodError:
            continue
        if period.start <= other.start and other.end <= period.end:
            inside.append(label)
    return inside


# Peer and customer means count for a subject only from this many answers (anonymity).
ANONYMITY_MINIMUM = 3
ANONYMOUS_ROLES = ("peer", "customer")


def _rating_values(
    connection: Connection,
    organisation: Organisation,
    period: Period,
    codes: list[str],
    weights: dict[str, dict[str, float] | None] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Return each rated KPI per subject: the weighted mean of the rater roles' means.

    ``weights`` holds each KPI's weight per role (from the version in force); a KPI
    without weights weighs every role the same. Roles without a mean for a subject drop
    out and the others' weights are renormalised. A peer or customer mean counts only
    from ``ANONYMITY_MINIMUM`` answers. Ratings still hidden (a rating round before both
    sides submitted) count for nothing. A unit pools its sellers' ratings per role first.
    """
    found: dict[str, NDArray[np.float64]] = {}
    if not codes:
        return found
    labels = _labels_within(
        connection.scalars(select(RatingRecord.period).distinct()).all(), period
    )
    rows = (
        connection.execute(
            select(
                RatingRecord.kpi,
                RatingRecord.rater_role,
                RatingRecord.seller_id,
                func.sum(RatingRecord.score),
                func.count(),
            )
            .where(
                RatingRecord.period.in_(labels),
                RatingRecord.kpi.in_(codes),
                RatingRecord.hidden == false(),
            )
            .group_by(RatingRecord.kpi, RatingRecord.rater_role, RatingRecord.seller_id)
        ).all()
        if labels
        else []
    )
    n = len(organisation.seller_ids)
    by_code_role: dict[tuple[str, str], tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    positions = organisation.seller_index(np.array([row[2] for row in rows], dtype=np.int64))
    for (code, role, _seller, total, count), index in zip(rows, positions.tolist(), strict=True):
        if (code, role) not in by_code_role:
            by_code_role[(code, role)] = (np.zeros(n), np.zeros(n))
        sums, counts = by_code_role[(code, role)]
        sums[index] += float(total)
        counts[index] += float(count)
    for code in codes:
        weighted = np.zeros(organisation.n_subjects)
        weight_present = np.zeros(organisation.n_subjects)
        role_weights = (weights or {}).get(code)
        for (rated, role), (sums, counts) in by_code_role.items():
            if rated != code:
                continue
            weight = 1.0 if role_weights is None else float(role_weights.get(role, 0.0))
            if weight <= 0:
                continue
            means = _pooled_mean(organisation, sums, counts)
            if role in ANONYMOUS_ROLES:
                pooled = np.concatenate((counts, organisation.membership @ counts, [counts.sum()]))
                means[pooled < ANONYMITY_MINIMUM] = np.nan
            present = ~np.isnan(means)
            weighted[present] += weight * means[present]
            weight_present[present] += weight
        values = np.full(organisation.n_subjects, np.nan)
        has = weight_present > 0
        values[has] = weighted[has] / weight_present[has]
        found[code] = values
    return found


def _pulse_values(
    connection: Connection, organisation: Organisation, period: Period, codes: list[str]
) -> dict[str, NDArray[np.float64]]:
    """Return each pulse KPI per subject: the mean answer over weeks starting in the period."""
    found: dict[str, NDArray[np.float64]] = {}
    if not codes:
        return found
    weeks = [
        label
        for label in connection.scalars(select(PulseAnswer.week).distinct()).all()
        if _week_starts_in(label, period)
    ]
    n = len(organisation.seller_ids)
    columns = {code: getattr(PulseAnswer, PULSE_FIELD[code]) for code in codes}
    rows = (
        connection.execute(
            select(
                PulseAnswer.seller_id,
                func.count(),
                *[func.sum(column) for column in columns.values()],
            )
            .where(PulseAnswer.week.in_(weeks))
            .group_by(PulseAnswer.seller_id)
        ).all()
        if weeks
        else []
    )
    index = organisation.seller_index(np.array([row[0] for row in rows], dtype=np.int64))
    counts = np.zeros(n)
    counts[index] = [float(row[1]) for row in rows]
    for position, code in enumerate(columns):
        sums = np.zeros(n)
        sums[index] = [float(row[2 + position]) for row in rows]
        found[code] = _pooled_mean(organisation, sums, counts)
    return found


def _week_starts_in(label: str, period: Period) -> bool:
    try:
        week = parse_period(label, fiscal_start_month=period.fiscal_start_month)
    except PeriodError:
        return False
    return week.kind is PeriodKind.WEEK and period.contains(week.start)


def _manual_values(
    connection: Connection, organisation: Organisation, period: Period, kpis: list[Kpi]
) -> dict[str, NDArray[np.float64]]:
    """Return each hand-entered KPI per subject.

    A seller's value is the entry for the period itself or, failing that, the entries of
    the shorter periods inside it combined by the KPI's time aggregation (sum, mean or the
    latest). A unit's value is the mean over its sellers that have one.
    """
    found: dict[str, NDArray[np.float64]] = {}
    n = len(organisation.seller_ids)
    for kpi in kpis:
        entries = connection.execute(
            select(ManualEntry.seller_id, ManualEntry.period, ManualEntry.value).where(
                ManualEntry.kpi_id == kpi.id
            )
        ).all()
        inside = set(_labels_within({row.period for row in entries}, period))
        per_seller: dict[int, list[tuple[date, float]]] = {}
        exact: dict[int, float] = {}
        for row in entries:
            if row.period not in inside:
                continue
            if row.period == period.label:
                exact[row.seller_id] = row.value
            else:
                starts = parse_period(row.period, fiscal_start_month=period.fiscal_start_month)
                per_seller.setdefault(row.seller_id, []).append((starts.start, row.value))
        values = np.full(n, np.nan)
        entered = sorted(set(per_seller) | set(exact))
        places = organisation.seller_index(np.array(entered, dtype=np.int64)).tolist()
        for seller_id, place in zip(entered, places, strict=True):
            if seller_id in exact:
                value = exact[seller_id]
            else:
                series = sorted(per_seller[seller_id])
                numbers = [number for _start, number in series]
                if kpi.time_aggregation == TimeAggregation.SUM:
                    value = float(sum(numbers))
                elif kpi.time_aggregation == TimeAggregation.MEAN:
                    value = float(np.mean(numbers))
                else:
                    value = numbers[-1]
            values[place] = value
        has = (~np.isnan(values)).astype(np.float64)
        found[kpi.code] = _pooled_mean(organisation, np.nan_to_num(values), has)
        found[kpi.code][:n] = values
    return found


def compute_period(
    session: Session,
    period: Period,
    *,
    zone: ZoneInfo | None = None,
    organisation: Organisation | None = None,
    trigger: str = "",
) -> PeriodResult:
    """Replace the stored values of every non-retired KPI for ``period``; return counts.

    Runs inside the session's transaction: the caller commits, so a failure leaves the
    stored values as they were.
    """
    started = time.perf_counter()
    zone = zone or ZoneInfo(get_settings().timezone)
    sync_builtin_kpis(session)
    connection = session.connection()
    organisation = organisation or load_organisation(connection)
    kpis = list(session.scalars(select(Kpi).where(Kpi.status != "retired").order_by(Kpi.id)))
    versions = Versions.load(session)
    _organisation, metrics = compute(
        connection, period.start, period.end, zone=zone, organisation=organisation
    )
    by_source: dict[str, list[Kpi]] = {}
    for kpi in kpis:
        by_source.setdefault(kpi.source, []).append(kpi)
    rated = [k.code for k in by_source.get(KpiSource.RATING, []) if k.code not in PULSE_FIELD]
    pulsed = [k.code for k in by_source.get(KpiSource.RATING, []) if k.code in PULSE_FIELD]
    soft = {
        **_rating_values(
            connection,
            organisation,
            period,
            rated,
            {
                kpi.code: versions.in_force(kpi.id, period.start).rater_weights
                for kpi in by_source.get(KpiSource.RATING, [])
            },
        ),
        **_pulse_values(connection, organisation, period, pulsed),
        **_manual_values(connection, organisation, period, by_source.get(KpiSource.MANUAL, [])),
        **provided_values(
            connection,
            organisation,
            period,
            [k.code for k in by_source.get(KpiSource.PROVIDED, [])],
        ),
    }

    rows = value_rows(organisation, period, kpis, versions, metrics, soft)
    written = _replace_values(session, period.label, [k.id for k in kpis], rows)
    elapsed = time.perf_counter() - started
    record = session.get(ComputedPeriod, period.label)
    if record is None:
        record = ComputedPeriod(period=period.label)
        session.add(record)
    record.period_start, record.period_end = period.start, period.end
    record.computed_at, record.duration_s, record.trigger = utcnow(), elapsed, trigger
    record.basis = period_basis(organisation, kpis, versions, period, zone)
    record.metrics = metric_snapshot(metrics)
    session.flush()
    return PeriodResult(period.label, len(rows), elapsed, written)


def value_rows(
    organisation: Organisation,
    period: Period,
    kpis: list[Kpi],
    versions: Versions,
    metrics: dict[str, NDArray[np.float64]],
    soft: dict[str, NDArray[np.float64]],
    *,
    positions: NDArray[np.int64] | None = None,
) -> list[ValueRow]:
    """Return the rows to store of ``kpis`` for the period, for every subject that has a
    value (or only those at ``positions``): metric and expression KPIs from ``metrics``
    with the version in force at the period's start, the others from ``soft``."""
    subject_kinds = (
        [SubjectKind.SELLER.value] * len(organisation.seller_ids)
        + [SubjectKind.UNIT.value] * len(organisation.unit_ids)
        + [SubjectKind.COMPANY.value]
    )
    subject_ids = np.concatenate(
        (organisation.seller_ids, organisation.unit_ids, [COMPANY_SUBJECT_ID])
    ).tolist()
    rows: list[ValueRow] = []
    start = period.start.isoformat()
    for kpi in kpis:
        version = versions.in_force(kpi.id, period.start)
        if kpi.source == KpiSource.METRIC:
            values = metrics[version.formula or kpi.code]
        elif kpi.source == KpiSource.EXPRESSION:
            values = parse(version.formula, known=METRICS).evaluate_columns(metrics)
        else:
            values = soft[kpi.code]
        if positions is None:
            present = np.flatnonzero(~np.isnan(values))
        else:
            present = positions[~np.isnan(values[positions])]
        kpi_id, version_id, label = kpi.id, version.id, period.label
        rows += [
            (kpi_id, version_id, label, start, subject_kinds[p], subject_ids[p], v)
            for p, v in zip(present.tolist(), values[present].tolist(), strict=True)
        ]
    return rows


def period_basis(
    organisation: Organisation,
    kpis: list[Kpi],
    versions: Versions,
    period: Period,
    zone: ZoneInfo,
) -> str:
    """Return the digest of what a period's metric and expression values depend on
    besides the CRM events: its days, the organisation (who counts for which unit, in
    which order), the metric and expression KPIs with the versions in force, the metrics,
    the zone."""
    digest = hashlib.sha256()
    digest.update(
        f"{period.label}|{period.start}|{period.end}|{zone.key}|{','.join(METRICS)}|".encode()
    )
    digest.update(np.ascontiguousarray(organisation.seller_ids, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(organisation.unit_ids, dtype=np.int64).tobytes())
    digest.update(np.packbits(organisation.membership.astype(bool)).tobytes())
    for kpi in kpis:
        if kpi.source in (KpiSource.METRIC, KpiSource.EXPRESSION):
            version = versions.in_force(kpi.id, period.start)
            digest.update(f"|{kpi.id}:{kpi.source}:{version.id}:{version.formula}".encode())
    return digest.hexdigest()


def metric_snapshot(metrics: dict[str, NDArray[np.float64]]) -> bytes:
    """Return every built-in metric per subject as little-endian float64 bytes."""
    return np.stack([metrics[code] for code in METRICS]).astype("<f8").tobytes()


def read_snapshot(
    record: ComputedPeriod, organisation: Organisation
) -> dict[str, NDArray[np.float64]] | None:
    """Return the metrics stored with ``record``, or None when it holds none that fit."""
    if record.metrics is None:
        return None
    values = np.frombuffer(record.metrics, dtype="<f8")
    if len(values) != len(METRICS) * organisation.n_subjects:
        return None
    table = values.reshape(len(METRICS), organisation.n_subjects)
    return {code: table[position].astype(np.float64) for position, code in enumerate(METRICS)}


_COPY_VALUES = (
    "COPY kpi_values (kpi_id, version_id, period, period_start, subject_kind, subject_id, value)"
    " FROM STDIN"
)
_INSERT_VALUES = (
    "INSERT INTO kpi_values (kpi_id, version_id, period, period_start, subject_kind, "
    "subject_id, value) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _replace_values(session: Session, label: str, kpi_ids: list[int], rows: list[ValueRow]) -> int:
    """Make the stored values of ``label`` (for ``kpi_ids``) equal ``rows``; return writes.

    Only what changed is written: most of a period's values survive a refresh (a day of
    activities leaves every deal KPI as it was), and writing is what costs most.
    """
    table = KpiValue.__table__.c
    # Core rows, not ORM ones: tens of thousands of them.
    stored = {
        (kind, subject, kpi): (version, value)
        for kind, subject, kpi, version, value in session.connection().execute(
            select(
                table.subject_kind, table.subject_id, table.kpi_id, table.version_id, table.value
            ).where(table.period == label, table.kpi_id.in_(kpi_ids))
        )
    }
    wanted = {(row[4], row[5], row[0]): row for row in rows}
    changed = [row for key, row in wanted.items() if stored.get(key) != (row[1], row[6])]
    gone = [key for key in stored if key not in wanted]
    if len(changed) + len(gone) > len(rows) // 2:
        session.execute(
            delete(KpiValue).where(KpiValue.period == label, KpiValue.kpi_id.in_(kpi_ids))
        )
        insert_values(session, rows)
        return len(rows)
    stale: dict[tuple[str, int], list[int]] = {}
    for kind, subject, kpi in [
        *gone,
        *[(r[4], r[5], r[0]) for r in changed if (r[4], r[5], r[0]) in stored],
    ]:
        stale.setdefault((kind, kpi), []).append(subject)
    for (kind, kpi), subjects in stale.items():
        session.execute(
            delete(KpiValue).where(
                KpiValue.period == label,
                KpiValue.subject_kind == kind,
                KpiValue.kpi_id == kpi,
                KpiValue.subject_id.in_(subjects),
            )
        )
    insert_values(session, changed)
    return len(changed) + len(gone)


def insert_values(session: Session, rows: list[ValueRow]) -> None:
    """Write KPI values through the driver: COPY on PostgreSQL, executemany on SQLite.

    Tens of thousands of rows per period: the ORM's per-row statements cost more than
    the whole computation (measured: 0.54 s against 0.30 s for COPY on 13,000 rows).
    """
    if not rows:
        return
    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name == "postgresql":
        with (
            driver.cursor() as cursor,
            cursor.copy(_COPY_VALUES) as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        driver.executemany(_INSERT_VALUES, rows)


def company_today() -> date:
    """Return today's date in the company's time zone."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def data_span(session: Session) -> tuple[date, date] | None:
    """Return the first and last day with any deal or activity, or None without data."""
    firsts = [
        session.scalar(select(func.min(Deal.created_date))),
        session.scalar(select(func.min(Activity.occurred_on))),
    ]
    lasts = [
        session.scalar(select(func.max(Deal.close_date))),
        session.scalar(select(func.max(Deal.created_date))),
        session.scalar(select(func.max(Activity.occurred_on))),
    ]
    known_firsts = [day for day in firsts if day is not None]
    known_lasts = [day for day in lasts if day is not None]
    if not known_firsts or not known_lasts:
        return None
    return min(known_firsts), max(known_lasts)


def periods_for(first: date, last: date, *, fiscal_start_month: int) -> list[Period]:
    """Return the months, fiscal quarters and fiscal years that overlap ``first``..``last``."""
    found: list[Period] = []
    for kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR):
        found += periods_between(first, last, kind, fiscal_start_month=fiscal_start_month)
    return found


# From this many values written, PostgreSQL's statistics of the table are refreshed:
# with stale ones its planner reads a whole period's rows for a ten-seller heatmap.
STATISTICS_ROWS = 10_000


def compute_periods(
    session: Session,
    periods: list[Period],
    *,
    trigger: str,
    progress: Progress | None = None,
) -> list[PeriodResult]:
    """Compute ``periods`` in order (see ``compute_period``); return what each held and wrote."""
    organisation = load_organisation(session.connection())
    results = []
    for period in periods:
        results.append(compute_period(session, period, organisation=organisation, trigger=trigger))
        if progress:
            progress(period.label)
    if sum(result.written for result in results) >= STATISTICS_ROWS:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE kpi_values"))
    return results


def compute_all(
    session: Session,
    *,
    today: date | None = None,
    progress: Progress | None = None,
    trigger: str = "compute --all",
) -> list[PeriodResult]:
    """Compute every month, quarter and year from the first data to today (or the last data)."""
    span = data_span(session)
    if span is None:
        return []
    first, last = span
    if today is not None:
        last = max(last, today)
    settings = get_settings()
    wanted = periods_for(first, last, fiscal_start_month=settings.fiscal_year_start_month)
    # Imported here: the incremental refresh is built on this module.
    from touchline.kpis.components import rebuild_components

    rebuild_components(session)
    return compute_periods(session, wanted, trigger=trigger, progress=progress)


def refresh(
    session: Session,
    *,
    spans: list[tuple[date, date]],
    trigger: str,
    progress: Progress | None = None,
) -> list[PeriodResult]:
    """Recompute the computed periods that overlap any of ``spans`` (inclusive dates).

    Periods never computed stay so until ``touchline compute`` asks for them; the running
    period is always computed.
    """
    settings = get_settings()
    computed = set(session.scalars(select(ComputedPeriod.period)))
    today = company_today()
    wanted: dict[str, Period] = {}
    for first, last in spans:
        for period in periods_for(first, last, fiscal_start_month=settings.fiscal_year_start_month):
            if period.label in computed or period.contains(today):
                wanted.setdefault(period.label, period)
    ordered = sorted(wanted.values(), key=lambda p: (p.kind, p.start))
    return compute_periods(session, ordered, trigger=trigger, progress=progress)


def refresh_after_import(
    session: Session,
    report: ImportReport,
    changes: Changes,
    progress: Callable[[str, int], None] | None,
) -> None:
    """Refresh the KPI values an import changed.

    Deals and activities go through the incremental refresh (``touchline.kpis.incremental``:
    the affected sellers, days and periods only; everything when the organisation
    changed); ratings and pulses recompute the periods they name.
    """
    from touchline.kpis.incremental import refresh_events

    def step(label: str) -> None:
        if progress:
            progress(f"computing KPIs {label}", 0)

    if changes.tables or changes.everything:
        refresh_events(session, changes=changes, trigger="import", progress=step)
        if changes.everything:
            return
    if changes.other_spans:
        refresh(session, spans=changes.other_spans, trigger="import", progress=step)


if refresh_after_import not in AFTER_IMPORT:
    AFTER_IMPORT.append(refresh_after_import)
