"""Fair comparison: each seller's result against what the factors outside their control
predict (docs/analytics.md, "Fair comparison").

For each result KPI the expected value of a field seller is fitted across the field
sellers from the factors of ``TOUCHLINE_ANALYTICS_FACTORS``: the log of the territory's
market potential, the log of one plus the inherited account base and the tenure band.
Money is modelled log-linear (revenue won: OLS on the log, with Duan's smearing back to
the money scale) or by a Gamma GLM with a log link (average deal size), counts by a
Poisson GLM with a log link (deals won, new customers), and the win rate by a fractional
logit (a binomial GLM on the share). The GLMs estimate their dispersion from the data
(quasi-likelihood), so their intervals are not too narrow when counts vary more than
Poisson's. The fair ratio is actual / expected.

Units (the sellers' teams) are compared raw (mean result per seller) and fair (the mean
fair ratio of their sellers, shrunk toward the company's by empirical Bayes, so a team of
three does not come first or last by chance). The team is not a factor of the seller's
expected value: what a team does better stays in its sellers' ratios.

A frontier view (fair_frontier.py, Data Envelopment Analysis) scores each seller's revenue
and new customers against their potential and account base, naming efficient peers.

The payload also holds the main result's fair ratios in the periods before the analysed
one (each fitted on that period's values and factors), for the KPI effectiveness.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import statsmodels.api as sm
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.analytics.dataset import TENURE_BANDS, Dataset
from touchline.analytics.fair_frontier import frontier
from touchline.analytics.registry import Payload, RunContext, analysis
from touchline.config import get_settings
from touchline.crm.models import Account, Deal
from touchline.org.models import Seller
from touchline.org.periods import Period

KEY = "fairness"
# The result KPI that defines the top performers and the leaderboards by default.
MAIN_RESULT = "revenue_won"
# A model needs this many sellers with a value and every factor, and five per parameter.
MIN_SELLERS = 20
PER_PARAMETER = 5


@dataclass(frozen=True)
class Model:
    """How one result KPI is modelled: ``family`` and the fit measure it reports."""

    code: str
    family: str  # loglinear, gamma, poisson, fractional_logit
    measure: str  # r2 (OLS on the log scale) or deviance_explained (a GLM's pseudo-R²)


MODELS = (
    Model("revenue_won", "loglinear", "r2"),
    Model("deals_won", "poisson", "deviance_explained"),
    Model("new_customers", "poisson", "deviance_explained"),
    Model("avg_deal_size", "gamma", "deviance_explained"),
    Model("win_rate", "fractional_logit", "deviance_explained"),
)
MODELLED = tuple(model.code for model in MODELS)
TERMS = {
    "potential": ("log_potential",),
    "accounts": ("log1p_accounts",),
    "tenure": (
        f"tenure_{TENURE_BANDS[0]:g}_{TENURE_BANDS[1]:g}",
        f"tenure_{TENURE_BANDS[1]:g}_up",
    ),
}


def chosen_factors() -> tuple[str, ...]:
    """Return the factors of ``TOUCHLINE_ANALYTICS_FACTORS`` in their setting's order."""
    return tuple(item for item in get_settings().analytics_factors.split(",") if item)


@dataclass(frozen=True)
class Factors:
    """The design matrix of the factors, one row per seller (NaN where one is missing)."""

    names: list[str]
    matrix: np.ndarray


def factor_matrix(
    potential: np.ndarray,
    accounts: np.ndarray,
    tenure_years: np.ndarray,
    factors: tuple[str, ...],
) -> Factors:
    """Return the columns of ``factors`` from the sellers' raw factor values.

    Potential must be positive (its log is taken); a missing hire date leaves the tenure
    columns NaN, so the seller gets no expected value.
    """
    columns: list[np.ndarray] = []
    names: list[str] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        if "potential" in factors:
            columns.append(np.where(potential > 0, np.log(potential), np.nan))
            names += TERMS["potential"]
        if "accounts" in factors:
            columns.append(np.log1p(accounts))
            names += TERMS["accounts"]
    if "tenure" in factors:
        low, high = TENURE_BANDS
        known = np.isfinite(tenure_years)
        middle = np.where(known, ((tenure_years >= low) & (tenure_years < high)) * 1.0, np.nan)
        senior = np.where(known, (tenure_years >= high) * 1.0, np.nan)
        columns += [middle, senior]
        names += TERMS["tenure"]
    size = len(potential)
    matrix = np.column_stack(columns) if columns else np.zeros((size, 0))
    return Factors(names, matrix.astype(float))


def dataset_factors(dataset: Dataset, factors: tuple[str, ...] | None = None) -> Factors:
    """Return the factors of the dataset's sellers in the analysed period."""
    sellers = dataset.sellers
    return factor_matrix(
        np.array([s.potential if s.potential is not None else np.nan for s in sellers], float),
        np.array([s.accounts_at_start for s in sellers], float),
        np.array([s.tenure_years if s.tenure_years is not None else np.nan for s in sellers]),
        factors if factors is not None else chosen_factors(),
    )


def first_wins(session: Session, dataset: Dataset) -> list[np.ndarray]:
    """Return per seller row the days on which their territory's accounts first had a won
    deal closed, sorted (one query for every period of the history)."""
    territories = dict(session.execute(select(Seller.id, Seller.territory_id)).all())
    query = (
        select(Account.territory_id, func.min(Deal.close_date))
        .join(Deal, Deal.account_id == Account.id)
        .where(Deal.status == "won", Account.territory_id.is_not(None))
        .group_by(Account.id, Account.territory_id)
    )
    days: dict[int, list[date]] = {}
    for territory, day in session.execute(query):
        if territory is not None and day is not None:
            days.setdefault(int(territory), []).append(day)
    arrays = {t: np.sort(np.array(found, dtype="datetime64[D]")) for t, found in days.items()}
    empty = np.array([], dtype="datetime64[D]")
    return [arrays.get(territories.get(s.id) or -1, empty) for s in dataset.sellers]


def period_factors(
    dataset: Dataset,
    period: Period,
    wins: list[np.ndarray],
    factors: tuple[str, ...] | None = None,
) -> Factors:
    """Return the factors of the dataset's sellers as they stood when ``period`` began:
    the account base inherited then (from ``first_wins``) and the tenure at its first day."""
    start = np.datetime64(period.start, "D")
    accounts = [float(np.searchsorted(found, start, side="left")) for found in wins]
    tenure = [
        max((period.start - s.hire_date).days / 365.25, 0.0) if s.hire_date else np.nan
        for s in dataset.sellers
    ]
    return factor_matrix(
        np.array([s.potential if s.potential is not None else np.nan for s in dataset.sellers]),
        np.array(accounts, float),
        np.array(tenure, float),
        factors if factors is not None else chosen_factors(),
    )


@dataclass(frozen=True)
class Coefficient:
    term: str
    estimate: float
    low: float | None
    high: float | None
    p_value: float | None


@dataclass
class Fit:
    """A fitted fairness model of one KPI; ``expected`` per seller row (NaN: none).

    Without a fit (too few sellers) ``message`` says why and ``expected`` is all NaN.
    """

    code: str
    family: str
    measure: str
    expected: np.ndarray
    actual: np.ndarray
    r2: float | None
    sellers: int
    needed: int
    coefficients: list[Coefficient] = field(default_factory=list)
    message: str | None = None

    @property
    def ratio(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, self.actual / self.expected, np.nan)


def _finite(value: float) -> float | None:
    """Return ``value``, or None for one that is not finite (JSON holds no NaN)."""
    return float(value) if np.isfinite(value) else None


def _usable(actual: np.ndarray, family: str) -> np.ndarray:
    finite = np.isfinite(actual)
    if family in ("loglinear", "gamma"):
        return np.asarray(finite & (actual > 0))
    if family == "fractional_logit":
        return np.asarray(finite & (actual >= 0) & (actual <= 1))
    return np.asarray(finite & (actual >= 0))


def fit_model(model: Model, actual: np.ndarray, factors: Factors) -> Fit:
    """Fit ``model`` of the actual values on ``factors`` across the sellers.

    Refuses (a ``Fit`` with ``message`` and no expected values) below
    ``max(MIN_SELLERS, PER_PARAMETER x parameters)`` sellers with a value and every factor.
    """
    size = len(actual)
    expected = np.full(size, np.nan)
    complete = np.isfinite(factors.matrix).all(axis=1)
    usable = _usable(actual, model.family) & complete
    columns = factors.matrix[usable]
    varying = columns.std(axis=0) > 0 if len(columns) else np.zeros(len(factors.names), bool)
    names = [name for name, keep in zip(factors.names, varying, strict=True) if keep]
    needed = max(MIN_SELLERS, PER_PARAMETER * (len(factors.names) + 1))
    count = int(usable.sum())
    empty = Fit(model.code, model.family, model.measure, expected, actual, None, count, needed)
    if count < needed:
        empty.message = "too_few_sellers"
        return empty
    design = sm.add_constant(columns[:, varying], has_constant="add")
    full = sm.add_constant(factors.matrix[complete][:, varying], has_constant="add")
    y = actual[usable]
    with warnings.catch_warnings():
        # A share as a binomial response is the fractional logit (quasi-likelihood).
        warnings.simplefilter("ignore")
        if model.family == "loglinear":
            result = sm.OLS(np.log(y), design).fit()
            # exp(E[log y]) underestimates E[y]; the smearing factor corrects it (Duan, 1983).
            smearing = float(np.mean(np.exp(result.resid)))
            expected[complete] = np.exp(full @ result.params) * smearing
            r2 = float(result.rsquared)
        else:
            family = {
                "poisson": sm.families.Poisson(),
                "gamma": sm.families.Gamma(link=sm.families.links.Log()),
                "fractional_logit": sm.families.Binomial(),
            }[model.family]
            result = sm.GLM(y, design, family=family).fit(scale="X2")
            expected[complete] = result.predict(full)
            r2 = (
                float(1.0 - result.deviance / result.null_deviance) if result.null_deviance else 0.0
            )
    intervals = np.asarray(result.conf_int(0.05))
    if not np.isfinite(r2) or not np.isfinite(np.asarray(result.params)).all():
        # A degenerate fit (every seller alike) explains nothing worth showing.
        empty.message = "degenerate"
        return empty
    coefficients = [
        Coefficient(term, float(estimate), _finite(low), _finite(high), _finite(p))
        for term, estimate, (low, high), p in zip(
            ["constant", *names], result.params, intervals, result.pvalues, strict=True
        )
    ]
    return Fit(
        model.code,
        model.family,
        model.measure,
        expected,
        actual,
        r2,
        count,
        needed,
        coefficients,
    )


def fit(dataset: Dataset, code: str) -> Fit | None:
    """Fit the fairness model of ``code`` in the analysed period; None for a KPI that is
    not modelled or not in the dataset."""
    model = next((m for m in MODELS if m.code == code), None)
    if model is None or code not in dataset.kpis:
        return None
    return fit_model(model, dataset.current(code), dataset_factors(dataset))


@dataclass(frozen=True)
class UnitComparison:
    """A team's result raw (mean per seller) and fair (its sellers' mean ratio, shrunk)."""

    unit_id: int
    sellers: int
    actual_mean: float
    expected_mean: float
    raw_ratio: float
    fair_ratio: float
    weight: float


def compare_units(
    unit_ids: np.ndarray, actual: np.ndarray, expected: np.ndarray
) -> tuple[list[UnitComparison], float, float]:
    """Return each unit's raw and shrunk fair ratio, the between-unit variance and the
    company's mean ratio.

    A unit's mean ratio m_u of n_u sellers is pulled toward the company mean m by
    B_u = tau² / (tau² + s² / n_u): s² is the pooled within-unit variance of the sellers'
    ratios, tau² the between-unit variance beyond it (method of moments, never negative).
    """
    known = np.isfinite(actual) & np.isfinite(expected) & (expected > 0)
    ratio = np.where(known, actual / np.where(known, expected, 1.0), np.nan)
    units = sorted({int(u) for u in unit_ids[known]})
    if not units:
        return [], 0.0, 1.0
    means, counts, sums, predicted = [], [], [], []
    within = 0.0
    for unit in units:
        mine = known & (unit_ids == unit)
        values = ratio[mine]
        means.append(float(values.mean()))
        counts.append(int(mine.sum()))
        sums.append(float(actual[mine].mean()))
        predicted.append(float(expected[mine].mean()))
        within += float(((values - values.mean()) ** 2).sum())
    n = np.array(counts, float)
    m = np.array(means)
    grand = float(ratio[known].mean())
    dof = n.sum() - len(units)
    s2 = within / dof if dof > 0 else float(ratio[known].var())
    sampling = s2 / n
    tau2 = max(0.0, float(np.var(m, ddof=1)) - float(sampling.mean())) if len(units) > 1 else 0.0
    weights = tau2 / (tau2 + sampling) if tau2 > 0 else np.zeros(len(units))
    shrunk = grand + weights * (m - grand)
    found = []
    for index, unit in enumerate(units):
        found.append(
            UnitComparison(
                unit,
                counts[index],
                sums[index],
                predicted[index],
                float(m[index]),
                float(shrunk[index]),
                float(weights[index]),
            )
        )
    return found, tau2, grand


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _fit_payload(found: Fit, dataset: Dataset) -> dict[str, Any]:
    values: dict[str, dict[str, float | None]] = {}
    ratio = found.ratio
    for row, seller in enumerate(dataset.sellers):
        actual = _number(found.actual[row])
        expected = _number(found.expected[row])
        if actual is None and expected is None:
            continue
        values[str(seller.id)] = {
            "expected": expected,
            "actual": actual,
            "ratio": _number(ratio[row]),
        }
    unit_ids = np.array([s.unit_id for s in dataset.sellers])
    units, tau2, grand = compare_units(unit_ids, found.actual, found.expected)
    return {
        "family": found.family,
        "measure": found.measure,
        "r2": found.r2,
        "sellers": found.sellers,
        "needed": found.needed,
        "message": found.message,
        "coefficients": [vars(c) for c in found.coefficients],
        "values": values,
        "units": [vars(u) for u in units],
        "between_units_variance": tau2,
        "company_ratio": grand,
    }


def history_ratios(
    session: Session, dataset: Dataset, code: str = MAIN_RESULT
) -> dict[str, dict[str, Any]]:
    """Return per earlier period of the dataset's history the fair ratios of ``code``
    (seller id -> ratio) and the fit, each period fitted on its own values and factors."""
    model = next(m for m in MODELS if m.code == code)
    found: dict[str, dict[str, Any]] = {}
    if code not in dataset.kpis:
        return found
    wins = first_wins(session, dataset) if len(dataset.history) > 1 else []
    for back, period in enumerate(reversed(dataset.history[:-1]), start=1):
        fitted = fit_model(model, dataset.column(code, back), period_factors(dataset, period, wins))
        ratio = fitted.ratio
        found[period.label] = {
            "r2": fitted.r2,
            "sellers": fitted.sellers,
            "message": fitted.message,
            "ratios": {
                str(seller.id): float(ratio[row])
                for row, seller in enumerate(dataset.sellers)
                if np.isfinite(ratio[row])
            },
        }
    return found


FRONTIER_INPUTS = ("potential", "accounts")
FRONTIER_OUTPUTS = ("revenue_won", "new_customers")


def frontier_payload(dataset: Dataset) -> dict[str, Any]:
    """Return the sellers' efficiency on the frontier of revenue and new customers
    against the chosen factors that are inputs (potential, accounts), with their peers."""
    inputs = [f for f in FRONTIER_INPUTS if f in chosen_factors()]
    outputs = [code for code in FRONTIER_OUTPUTS if code in dataset.kpis]
    if not inputs or not outputs:
        return {"inputs": inputs, "outputs": outputs, "sellers": 0, "efficient": 0, "values": {}}
    columns = {
        "potential": [s.potential if s.potential is not None else np.nan for s in dataset.sellers],
        "accounts": [float(s.accounts_at_start) for s in dataset.sellers],
    }
    found = frontier(
        np.column_stack([np.array(columns[f], float) for f in inputs]),
        np.column_stack([dataset.current(code) for code in outputs]),
    )
    ids = [s.id for s in dataset.sellers]
    return {
        "inputs": inputs,
        "outputs": outputs,
        "sellers": found.sellers,
        "efficient": found.efficient,
        "values": {
            str(ids[row]): {
                "score": float(found.scores[row]),
                "peers": [ids[peer] for peer in found.peers[row]],
            }
            for row in range(dataset.size)
            if np.isfinite(found.scores[row])
        },
    }


@analysis(KEY, order=10)
def fairness(context: RunContext) -> Payload:
    """Expected, actual and fair ratio per seller for each modelled result KPI, the units
    compared raw and fair, and the main result's fair ratios in the earlier periods."""
    dataset = context.dataset
    factors = dataset_factors(dataset)
    kpis: dict[str, Any] = {}
    for model in MODELS:
        if model.code in dataset.kpis:
            found = fit_model(model, dataset.current(model.code), factors)
            kpis[model.code] = _fit_payload(found, dataset)
    return {
        "main": MAIN_RESULT,
        "factors": list(chosen_factors()),
        "terms": factors.names,
        "kpis": kpis,
        "sellers": {
            str(s.id): {"external_id": s.external_id, "name": s.name, "unit_id": s.unit_id}
            for s in dataset.sellers
        },
        "units": {
            str(unit_id): {"external_id": unit.external_id, "name": unit.name}
            for unit_id, unit in dataset.units.items()
            if unit_id in {s.unit_id for s in dataset.sellers}
        },
        "history": history_ratios(context.session, dataset),
        "frontier": frontier_payload(dataset),
    }


def fair_ratios(context: RunContext, code: str = MAIN_RESULT) -> dict[int, float]:
    """Return each field seller's fair ratio (actual / expected) of ``code`` in the run.

    Sellers without a ratio (no value, no territory, no model) are left out; a seller
    with no result at all has ratio 0.
    """
    payload = context.found.get(KEY) or fairness(context)
    values = payload["kpis"].get(code, {}).get("values", {})
    return {
        int(seller): item["ratio"] for seller, item in values.items() if item["ratio"] is not None
    }
