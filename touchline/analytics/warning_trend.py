"""Theil–Sen slopes with Sen's confidence interval for many short series at once.

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

import numpy as np
from scipy.stats import norm


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
