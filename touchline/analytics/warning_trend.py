"""Trends over recent periods: the stored values of many subjects as arrays, and
Theil–Sen slopes with Sen's confidence interval for many short series at once.

``scipy.stats.theilslopes`` takes about half a millisecond per series; the warnings and
the recognition judge every KPI of every seller (14,000 series at 2,000 sellers), so
this module computes the same estimator on a whole matrix of series at a time. It gives
what ``theilslopes(y, x, alpha=confidence)`` gives for each row (the tests compare them):
the median of the slopes between every pair of points, and the interval of Sen (1968)
from the normal approximation to Kendall's statistic, corrected for ties in the values.
A row's missing values (NaN) are left out of its own pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.stats import norm
from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.kpis.compute import data_span
from touchline.kpis.models import KpiValue
from touchline.org.periods import Period

TREND_PERIODS = 8


@dataclass(frozen=True)
class Slopes:
    """Per row: the slope, its interval, and how many points it rests on (NaN: too few)."""

    slope: np.ndarray
    low: np.ndarray
    high: np.ndarray
    points: np.ndarray


def theil_sen(values: np.ndarray, *, confidence: float, minimum: int = 3) -> Slopes:
    """Return the Theil–Sen slope of each row of ``values`` (x = 0, 1, 2, ... per column).

    Rows with fewer than ``minimum`` values (at least 2) get NaN. Refuses a confidence
    outside (0, 1) with ValueError.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence} is not between 0 and 1")
    values = np.atleast_2d(np.asarray(values, dtype=float))
    rows, columns = values.shape
    slope = np.full(rows, np.nan)
    low = np.full(rows, np.nan)
    high = np.full(rows, np.nan)
    present = np.isfinite(values)
    points = present.sum(axis=1)
    if rows == 0 or columns < 2:
        return Slopes(slope, low, high, points)
    z = -float(norm.ppf((1.0 - confidence) / 2.0))
    # Rows sharing a pattern of missing values share their pairs: one batch per pattern.
    patterns, inverse = np.unique(present, axis=0, return_inverse=True)
    for number, pattern in enumerate(patterns):
        count = int(pattern.sum())
        if count < max(minimum, 2):
            continue
        chosen = np.flatnonzero(inverse.ravel() == number)
        x = np.flatnonzero(pattern).astype(float)
        y = values[np.ix_(chosen, np.flatnonzero(pattern))]
        first, second = np.triu_indices(count, k=1)
        pairs = np.sort((y[:, second] - y[:, first]) / (x[second] - x[first]), axis=1)
        slope[chosen] = np.median(pairs, axis=1)
        # Ties in y: each value tied k times adds (k - 1)(2k + 5) (summed over a group of
        # k, that is Sen's k(k - 1)(2k + 5)); x has no ties.
        tied = (y[:, :, None] == y[:, None, :]).sum(axis=2)
        ties = ((tied - 1) * (2 * tied + 5)).sum(axis=1)
        sigma = np.sqrt((count * (count - 1) * (2 * count + 5) - ties) / 18.0)
        total = pairs.shape[1]
        upper = np.minimum(np.round((total + z * sigma) / 2.0).astype(int), total - 1)
        lower = np.maximum(np.round((total - z * sigma) / 2.0).astype(int) - 1, 0)
        low[chosen] = np.take_along_axis(pairs, lower[:, None], axis=1)[:, 0]
        high[chosen] = np.take_along_axis(pairs, upper[:, None], axis=1)[:, 0]
    return Slopes(slope, low, high, points)


def trend_periods(period: Period, day: date, count: int = TREND_PERIODS) -> list[Period]:
    """Return the ``count`` complete periods up to ``period``, oldest first.

    The analysed period counts when ``day`` is its last day; else it is still running.
    """
    last = period if day >= period.end else period.previous()
    found = [last]
    while len(found) < count:
        found.insert(0, found[0].previous())
    return found


@dataclass
class History:
    """Stored values per subject, KPI and period (NaN: none)."""

    values: np.ndarray
    subject_row: dict[int, int]
    kpi_column: dict[int, int]

    def rows(self, pairs: list[tuple[int, int]]) -> np.ndarray:
        """Return one row of values per (subject, KPI) pair, periods as columns."""
        periods = self.values.shape[2]
        if not pairs:
            return np.empty((0, periods))
        chosen = np.array([self.subject_row.get(s, -1) for s, _k in pairs])
        kpis = np.array([self.kpi_column.get(k, -1) for _s, k in pairs])
        found = np.full((len(pairs), periods), np.nan)
        known = (chosen >= 0) & (kpis >= 0)
        found[known] = self.values[chosen[known], kpis[known], :]
        return found

    def latest(self, subject: int, kpi_id: int) -> float | None:
        """Return the value of the last period, None when there is none."""
        row, column = self.subject_row.get(subject), self.kpi_column.get(kpi_id)
        if row is None or column is None:
            return None
        value = self.values[row, column, -1]
        return float(value) if np.isfinite(value) else None


def stored_history(
    session: Session,
    kind: str,
    subjects: list[int],
    kpi_ids: list[int],
    periods: list[Period],
    *,
    partial_too: bool = False,
) -> History:
    """Return the stored values of ``subjects`` on ``kpi_ids`` in ``periods``; a period
    that began before the first day of data is left out (NaN) unless ``partial_too``."""
    labels = [p.label for p in periods]
    column = {label: index for index, label in enumerate(labels)}
    subject_row = {subject: index for index, subject in enumerate(subjects)}
    kpi_column = {kpi_id: index for index, kpi_id in enumerate(kpi_ids)}
    values = np.full((len(subjects), len(kpi_ids), len(labels)), np.nan)
    found = History(values, subject_row, kpi_column)
    if not subjects or not kpi_ids:
        return found
    span = data_span(session)
    # A period that began before the data did holds only part of its events: left out.
    partial = {p.label for p in periods if not partial_too and (span is None or p.start < span[0])}
    rows = (
        session.connection()
        .execute(
            select(KpiValue.subject_id, KpiValue.kpi_id, KpiValue.period, KpiValue.value).where(
                KpiValue.subject_kind == kind,
                KpiValue.subject_id.in_(subjects),
                KpiValue.kpi_id.in_(kpi_ids),
                KpiValue.period.in_(labels),
                KpiValue.value.is_not(None),
            )
        )
        .all()
    )
    kept = [row for row in rows if row[2] not in partial and row[0] in subject_row]
    if kept:
        values[
            [subject_row[row[0]] for row in kept],
            [kpi_column[row[1]] for row in kept],
            [column[row[2]] for row in kept],
        ] = [row[3] for row in kept]
    return found
