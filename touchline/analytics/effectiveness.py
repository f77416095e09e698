"""KPI effectiveness: does a KPI relate to later results at all (docs/analytics.md, "KPI
effectiveness")?

For every active KPI with values, the Spearman rank correlation across field sellers
between the KPI in period t and the fair result (the fair ratio of ``MAIN_RESULT``) in
period t + 1, for each pair of consecutive periods of the dataset's history; the pairs
are pooled on Fisher's z scale. The same sellers appear in every pair, so the pairs are
not independent: the variance of the pooled z adds the covariance of each two pairs'
correlations under no relation, (rho(X_j, X_k) rho(Y_j, Y_k) + rho(X_j, Y_k) rho(Y_j, X_k))
/ (n - 3) (Pearson and Filon, 1898; Steiger, 1980), from the KPI's and the result's own
correlations between periods. A KPI whose 95 % interval includes 0 and whose |rho| is
below ``SMALL_RHO`` is "only statistics". Result KPIs are what the others are judged
against: their row says how far this period's result foretells the next fair one, and
they are never marked only statistics (their verdict is ``result``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from touchline.analytics.dataset import Dataset
from touchline.analytics.fairness import KEY as FAIRNESS
from touchline.analytics.fairness import MAIN_RESULT
from touchline.analytics.fairness import fairness as fairness_analysis
from touchline.analytics.registry import Payload, RunContext, analysis

KEY = "effectiveness"
# Below this |rho| (with an interval including 0) a KPI relates to nothing a decision
# could rest on: Cohen's "small" correlation is 0.1, 0.2 leaves room for the noise of a
# quarter's result.
SMALL_RHO = 0.2
# A pair of periods counts from this many sellers with both values.
MIN_PAIR_SELLERS = 10
Z_95 = float(stats.norm.ppf(0.975))

ONLY_STATISTICS = "only_statistics"
RELATED = "related"
TOO_LITTLE_DATA = "too_little_data"
RESULT = "result"


@dataclass(frozen=True)
class PairCorrelation:
    period: str
    next_period: str
    rho: float
    sellers: int


@dataclass(frozen=True)
class Effectiveness:
    """A KPI's pooled relation to the next period's fair result, with its uncertainty."""

    code: str
    rho: float | None
    low: float | None
    high: float | None
    p_value: float | None
    sellers: int
    pairs: list[PairCorrelation]
    verdict: str


def _ranks(column: np.ndarray) -> np.ndarray:
    """Rank the finite values of a column (average ranks for ties); NaN stays NaN."""
    found = np.full(column.shape, np.nan)
    known = np.isfinite(column)
    if known.any():
        found[known] = stats.rankdata(column[known])
    return found


def _correlation(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Pearson correlation of two columns over rows where both are finite (0 if flat)."""
    both = np.isfinite(a) & np.isfinite(b)
    count = int(both.sum())
    if count < 3:
        return 0.0, count
    x, y = a[both], b[both]
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return 0.0, count
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy)), count


def pooled_relation(kpi: np.ndarray, outcome: np.ndarray, labels: list[str]) -> Effectiveness:
    """Return the pooled Spearman correlation of ``kpi[:, t]`` with ``outcome[:, t + 1]``.

    Both are sellers x periods (oldest first). Pairs with fewer than
    ``MIN_PAIR_SELLERS`` sellers having both values, or a constant column, are left out;
    without any pair the verdict is ``too_little_data``.
    """
    pairs: list[PairCorrelation] = []
    used: list[int] = []
    z_values: list[float] = []
    weights: list[float] = []
    for t in range(kpi.shape[1] - 1):
        x, y = kpi[:, t], outcome[:, t + 1]
        both = np.isfinite(x) & np.isfinite(y)
        count = int(both.sum())
        if count < MIN_PAIR_SELLERS or np.ptp(x[both]) == 0 or np.ptp(y[both]) == 0:
            continue
        rho = float(stats.spearmanr(x[both], y[both]).statistic)
        pairs.append(PairCorrelation(labels[t], labels[t + 1], rho, count))
        used.append(t)
        z_values.append(float(np.arctanh(np.clip(rho, -0.999999, 0.999999))))
        weights.append(count - 3.0)
    if not pairs:
        return Effectiveness("", None, None, None, None, 0, [], TOO_LITTLE_DATA)
    x_ranks = np.column_stack([_ranks(kpi[:, t]) for t in used])
    y_ranks = np.column_stack([_ranks(outcome[:, t + 1]) for t in used])
    w = np.array(weights)
    z = np.array(z_values)
    pooled = float((w * z).sum() / w.sum())
    variance = 0.0
    for j in range(len(used)):
        for k in range(len(used)):
            if j == k:
                covariance = 1.0 / w[j]
            else:
                xx, n_x = _correlation(x_ranks[:, j], x_ranks[:, k])
                yy, _n = _correlation(y_ranks[:, j], y_ranks[:, k])
                xy, _n = _correlation(x_ranks[:, j], y_ranks[:, k])
                yx, _n = _correlation(y_ranks[:, j], x_ranks[:, k])
                covariance = (xx * yy + xy * yx) / max(min(w[j], w[k], n_x - 3.0), 1.0)
            variance += w[j] * w[k] * covariance
    se = float(np.sqrt(max(variance, 0.0)) / w.sum())
    rho = float(np.tanh(pooled))
    low, high = float(np.tanh(pooled - Z_95 * se)), float(np.tanh(pooled + Z_95 * se))
    p_value = float(2.0 * stats.norm.sf(abs(pooled) / se)) if se > 0 else 0.0
    only = low <= 0.0 <= high and abs(rho) < SMALL_RHO
    return Effectiveness(
        "",
        rho,
        low,
        high,
        p_value,
        round(float(np.mean([p.sellers for p in pairs]))),
        pairs,
        ONLY_STATISTICS if only else RELATED,
    )


def fair_outcome(dataset: Dataset, fairness: Payload) -> np.ndarray:
    """Return the main result's fair ratio per seller (rows) and period of the history
    (columns, oldest first), NaN where the fairness model gave none."""
    outcome = np.full((dataset.size, len(dataset.history)), np.nan)
    rows = dataset.row_of()
    earlier = fairness.get("history", {})
    current = fairness.get("kpis", {}).get(MAIN_RESULT, {}).get("values", {})
    for column, period in enumerate(dataset.history):
        if column == len(dataset.history) - 1:
            found = {seller: item["ratio"] for seller, item in current.items()}
        else:
            found = earlier.get(period.label, {}).get("ratios", {})
        for seller, ratio in found.items():
            row = rows.get(int(seller))
            if row is not None and ratio is not None:
                outcome[row, column] = ratio
    return outcome


def effectiveness_of(dataset: Dataset, fairness: Payload) -> dict[str, Any]:
    """Return every KPI's relation to the next period's fair result, strongest first."""
    outcome = fair_outcome(dataset, fairness)
    labels = [period.label for period in dataset.history]
    found: list[dict[str, Any]] = []
    for code, values in dataset.values.items():
        if not np.isfinite(values).any():
            continue
        facts = dataset.kpis[code]
        result = pooled_relation(values, outcome, labels)
        verdict = result.verdict
        if facts.level == "result" and verdict != TOO_LITTLE_DATA:
            verdict = RESULT
        # Related, but the wrong way round for the KPI's direction: worth a look.
        wrong_way = verdict == RELATED and (
            (facts.direction == "higher" and (result.high or 0.0) < 0)
            or (facts.direction == "lower" and (result.low or 0.0) > 0)
        )
        found.append(
            {
                "code": code,
                "name": facts.name,
                "level": facts.level,
                "direction": facts.direction,
                "rho": result.rho,
                "low": result.low,
                "high": result.high,
                "p_value": result.p_value,
                "sellers": result.sellers,
                "pairs": [vars(pair) for pair in result.pairs],
                "verdict": verdict,
                "against_direction": bool(wrong_way),
            }
        )
    found.sort(key=lambda item: (item["rho"] is None, -abs(item["rho"] or 0.0), item["code"]))
    return {
        "outcome": MAIN_RESULT,
        "threshold": SMALL_RHO,
        "periods": labels,
        "kpis": found,
    }


@analysis(KEY, order=90)
def effectiveness(context: RunContext) -> Payload:
    """Each KPI's rank correlation with the next period's fair result, pooled over the
    history's consecutive periods, and whether it is "only statistics"."""
    payload = context.found.get(FAIRNESS) or fairness_analysis(context)
    return effectiveness_of(context.dataset, payload)
