"""Fair comparison: each seller's result against what the factors outside their control
predict (docs/analytics.md, "Fair comparison").

For a result KPI the expected value of a seller is fitted across the field sellers from
the log of the territory's market potential, the log of one plus the inherited account
base and the tenure band (ordinary least squares on the log of the result, statsmodels).
The fair ratio is actual / expected; the model's R² says how much the factors explain.
A KPI is modelled only from ``MIN_SELLERS`` sellers with a value and the factors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import statsmodels.api as sm

from touchline.analytics.dataset import Dataset
from touchline.analytics.registry import Payload, RunContext, analysis

KEY = "fairness"
# The result KPI that defines the top performers and the leaderboards by default.
MAIN_RESULT = "revenue_won"
MODELLED = ("revenue_won",)
MIN_SELLERS = 12


@dataclass(frozen=True)
class Fit:
    """A fitted fairness model of one KPI: per seller row expected value (NaN: none)."""

    code: str
    expected: np.ndarray
    actual: np.ndarray
    r2: float
    sellers: int


def _factors(dataset: Dataset) -> np.ndarray:
    rows = []
    for seller in dataset.sellers:
        potential = seller.potential if seller.potential and seller.potential > 0 else np.nan
        band = seller.tenure_band
        rows.append(
            [
                np.log(potential),
                np.log1p(seller.accounts_at_start),
                1.0 if band == 1 else 0.0,
                1.0 if band == 2 else 0.0,
            ]
        )
    return np.array(rows, dtype=float).reshape(len(dataset.sellers), 4)


def fit(dataset: Dataset, code: str) -> Fit | None:
    """Fit the fairness model of ``code``; None when too few sellers have what it needs."""
    actual = dataset.current(code)
    factors = _factors(dataset)
    usable = np.isfinite(actual) & (actual > 0) & np.isfinite(factors).all(axis=1)
    if usable.sum() < MIN_SELLERS:
        return None
    columns = factors[usable]
    varying = columns.std(axis=0) > 0
    design = sm.add_constant(columns[:, varying], has_constant="add")
    model = sm.OLS(np.log(actual[usable]), design).fit()
    expected = np.full(dataset.size, np.nan)
    every = np.isfinite(factors).all(axis=1)
    full = sm.add_constant(factors[every][:, varying], has_constant="add")
    # exp(E[log y]) underestimates E[y]; the smearing factor corrects it (Duan, 1983).
    smearing = float(np.mean(np.exp(model.resid)))
    expected[every] = np.exp(full @ model.params) * smearing
    return Fit(code, expected, actual, float(model.rsquared), int(usable.sum()))


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@analysis(KEY, order=10)
def fairness(context: RunContext) -> Payload:
    """Expected, actual and fair ratio per seller for each modelled result KPI."""
    dataset = context.dataset
    kpis: dict[str, Any] = {}
    for code in MODELLED:
        if code not in dataset.kpis:
            continue
        found = fit(dataset, code)
        if found is None:
            kpis[code] = {"r2": None, "sellers": 0, "values": {}}
            continue
        values = {}
        for row, seller in enumerate(dataset.sellers):
            expected = _number(found.expected[row])
            actual = _number(found.actual[row])
            ratio = actual / expected if actual is not None and expected else None
            values[str(seller.id)] = {"expected": expected, "actual": actual, "ratio": ratio}
        kpis[code] = {"r2": found.r2, "sellers": found.sellers, "values": values}
    return {"main": MAIN_RESULT, "kpis": kpis}


def fair_ratios(context: RunContext, code: str = MAIN_RESULT) -> dict[int, float]:
    """Return each field seller's fair ratio (actual / expected) of ``code`` in the run.

    Sellers without a ratio (no value, no territory) are left out.
    """
    payload = context.found.get(KEY) or fairness(context)
    values = payload["kpis"].get(code, {}).get("values", {})
    return {int(seller): item["ratio"] for seller, item in values.items() if item["ratio"]}
