"""What top sellers do differently: every behavioural measure compared between the top
performers on the fair result and the rest (docs/analytics.md, "What top sellers do
differently").

The top group is the top share (``TOUCHLINE_ANALYTICS_TOP_SHARE``, a quarter by default)
of the field sellers ranked by their fair ratio of the main result (actual / expected
revenue from the fairness model), never by the raw result, so that territory luck does
not pass for behaviour. For each measure (activity KPIs, quality ratios, funnel
conversion, soft KPI ratings) both groups are compared twice:

- *leading*: the behaviour in the previous period against the fair result in this one,
  which the ranking and the verdict use (a behaviour that comes before the result is
  less likely to be a mere consequence of it);
- *concurrent*: the behaviour and the fair result of the same period, shown beside it
  and used only where the previous period has too few values.

Each comparison gives Hedges' g with a percentile bootstrap interval, Cliff's delta and a
two-sided Mann–Whitney U test; Benjamini–Hochberg controls the false discovery rate over
all measures of a comparison. A *success behaviour* has q < ``FDR_LEVEL``, |g| of at
least ``MIN_EFFECT`` and the difference in the measure's good direction. With fewer than
``MIN_GROUP`` sellers in either group nothing is tested and nothing is called a success.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu
from statsmodels.stats.multitest import multipletests

from touchline.analytics.dataset import Dataset, KpiFacts
from touchline.analytics.fairness import MAIN_RESULT, fair_ratios
from touchline.analytics.registry import Payload, RunContext, analysis
from touchline.config import get_settings
from touchline.i18n import _l
from touchline.kpis.builtin import FOUNDATION_SURVEY_KPIS, PULSE_FIELD

KEY = "behaviours"
# Fewer sellers than this in either group (top, rest) and nothing is concluded.
MIN_GROUP = 8
# The false discovery rate controlled over all measures of one comparison.
FDR_LEVEL = 0.05
# Below this |g| a difference is too small to train for, however certain it is.
MIN_EFFECT = 0.2
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95
# Conversion from one funnel step to the next, among the result KPIs.
FUNNEL_KPIS = ("win_rate",)
# Soft KPIs that are the seller's own mood or view of their conditions, not a behaviour.
NOT_BEHAVIOURS = frozenset(PULSE_FIELD) | {kpi.code for kpi in FOUNDATION_SURVEY_KPIS}

# The kinds of measure, in the order the page groups them.
ACTIVITY = "activity"
QUALITY = "quality"
FUNNEL = "funnel"
SOFT = "soft"
KINDS = (ACTIVITY, QUALITY, FUNNEL, SOFT)

# Verdicts per measure.
SUCCESS = "success"
OPPOSITE = "opposite"
NO_DIFFERENCE = "none"
TOO_FEW = "too_few"


@dataclass(frozen=True)
class DerivedRatio:
    """A quality ratio computed from two KPIs' stored values, per seller and period."""

    code: str
    name: str
    description: str
    numerator: str
    denominator: str

    @property
    def formula(self) -> str:
        return f"{self.numerator} / {self.denominator}"


DERIVED_RATIOS = (
    DerivedRatio(
        "new_customer_meeting_share",
        _l("Share of meetings with new customers"),
        _l("Meetings with new customers out of all meetings held in the period."),
        "meetings_new_customers",
        "meetings",
    ),
)


@dataclass(frozen=True)
class Measure:
    """A behavioural measure: a KPI of the catalogue or a ratio derived from two."""

    code: str
    name: str
    kind: str
    unit: str
    decimals: int
    direction: str
    # The KPI's code when the measure is one; None for a derived ratio.
    kpi: str | None
    formula: str
    description: str = ""


@dataclass
class Shown:
    """How a measure's values read: what ``format_kpi_value`` needs of a KPI."""

    unit: str
    decimals: int


@dataclass(frozen=True)
class Comparison:
    """The top group against the rest on one measure."""

    n_top: int
    n_rest: int
    median_top: float
    median_rest: float
    mean_top: float
    mean_rest: float
    g: float | None = None
    g_low: float | None = None
    g_high: float | None = None
    delta: float | None = None
    u: float | None = None
    p: float | None = None

    @property
    def tested(self) -> bool:
        return self.p is not None

    def as_payload(self, q: float | None) -> dict[str, Any]:
        return {
            "n_top": self.n_top,
            "n_rest": self.n_rest,
            "median_top": self.median_top,
            "median_rest": self.median_rest,
            "mean_top": self.mean_top,
            "mean_rest": self.mean_rest,
            "g": self.g,
            "g_low": self.g_low,
            "g_high": self.g_high,
            "delta": self.delta,
            "u": self.u,
            "p": self.p,
            "q": q,
        }


def top_share() -> float:
    """The share of field sellers counted as top performers (the setting)."""
    return get_settings().analytics_top_share


def _measure_of(facts: KpiFacts) -> Measure | None:
    if facts.code in FUNNEL_KPIS:
        kind = FUNNEL
    elif facts.kind == "soft":
        if facts.source != "rating" or facts.level == "result" or facts.code in NOT_BEHAVIOURS:
            return None
        kind = SOFT
    elif facts.level == "activity":
        kind = QUALITY if facts.unit == "ratio" else ACTIVITY
    else:
        return None
    return Measure(
        code=facts.code,
        name=facts.name,
        kind=kind,
        unit=facts.unit,
        decimals=facts.decimals,
        direction=facts.direction,
        kpi=facts.code,
        formula=facts.code,
    )


def measures(dataset: Dataset) -> list[Measure]:
    """Return the behavioural measures the dataset has values for, by kind then code.

    A KPI with no stored seller value in the analysed or the previous period (a
    manager's KPI, a Foundation entry nobody made) is left out; a derived ratio whose KPI
    exists in the catalogue is measured as that KPI.
    """
    found: list[Measure] = []
    for facts in dataset.kpis.values():
        measure = _measure_of(facts)
        if measure is not None and _has_values(dataset, measure.code):
            found.append(measure)
    for ratio in DERIVED_RATIOS:
        if ratio.code in dataset.kpis:
            continue
        if ratio.numerator in dataset.values and ratio.denominator in dataset.values:
            found.append(
                Measure(
                    code=ratio.code,
                    name=ratio.name,
                    kind=QUALITY,
                    unit="ratio",
                    decimals=0,
                    direction="higher",
                    kpi=None,
                    formula=ratio.formula,
                    description=ratio.description,
                )
            )
    return sorted(found, key=lambda m: (KINDS.index(m.kind), m.code))


def _has_values(dataset: Dataset, code: str) -> bool:
    values = dataset.values.get(code)
    return values is not None and bool(np.isfinite(values[:, -2:]).any())


def measure_values(dataset: Dataset, measure: Measure) -> np.ndarray:
    """Return the measure per seller (rows) and period (columns, oldest first); NaN: none.

    A derived ratio is NaN where its denominator is zero or missing.
    """
    if measure.kpi is not None:
        found = dataset.values.get(measure.kpi)
        if found is None:
            return np.full((dataset.size, len(dataset.history)), np.nan)
        return found
    ratio = next(r for r in DERIVED_RATIOS if r.code == measure.code)
    numerator = dataset.values[ratio.numerator]
    denominator = dataset.values[ratio.denominator]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def hedges_g(top: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Return Hedges' g of ``top`` against ``rest`` along the last axis.

    g = J · (mean_top − mean_rest) / s_pooled, J = 1 − 3 / (4 (n₁ + n₂) − 9); 0 where
    both groups are constant.
    """
    n1, n2 = top.shape[-1], rest.shape[-1]
    pooled = np.sqrt(
        ((n1 - 1) * top.var(axis=-1, ddof=1) + (n2 - 1) * rest.var(axis=-1, ddof=1)) / (n1 + n2 - 2)
    )
    difference = top.mean(axis=-1) - rest.mean(axis=-1)
    correction = 1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pooled > 0, correction * difference / pooled, 0.0)


def compare(
    top: np.ndarray,
    rest: np.ndarray,
    rng: np.random.Generator,
    *,
    min_group: int = MIN_GROUP,
    test: bool = True,
) -> Comparison:
    """Compare the finite values of ``top`` with those of ``rest``.

    Medians and means always; g with its bootstrap interval, Cliff's delta and the
    Mann–Whitney test only when ``test`` and each group has ``min_group`` values.
    """
    top = top[np.isfinite(top)]
    rest = rest[np.isfinite(rest)]
    n1, n2 = len(top), len(rest)

    def stat(values: np.ndarray, function: Any) -> float:
        return float(function(values)) if len(values) else float("nan")

    described = Comparison(
        n_top=n1,
        n_rest=n2,
        median_top=stat(top, np.median),
        median_rest=stat(rest, np.median),
        mean_top=stat(top, np.mean),
        mean_rest=stat(rest, np.mean),
    )
    if not test or n1 < min_group or n2 < min_group:
        return described
    g = float(hedges_g(top, rest))
    # Resampled within each group (stratified), so each replicate keeps the group sizes.
    top_draws = top[rng.integers(0, n1, size=(BOOTSTRAP_RESAMPLES, n1))]
    rest_draws = rest[rng.integers(0, n2, size=(BOOTSTRAP_RESAMPLES, n2))]
    replicates = hedges_g(top_draws, rest_draws)
    tail = (1.0 - CONFIDENCE) / 2.0 * 100.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail])
    if np.ptp(np.concatenate([top, rest])) == 0:
        u, p = n1 * n2 / 2.0, 1.0
    else:
        result = mannwhitneyu(top, rest, alternative="two-sided")
        u, p = float(result.statistic), float(result.pvalue)
    return replace(
        described,
        g=g,
        g_low=float(low),
        g_high=float(high),
        delta=2.0 * u / (n1 * n2) - 1.0,
        u=u,
        p=p,
    )


def q_values(p_values: list[float | None]) -> list[float | None]:
    """Return Benjamini–Hochberg q-values for the tested entries (None stays None)."""
    tested = [p for p in p_values if p is not None]
    if not tested:
        return [None] * len(p_values)
    adjusted = iter(multipletests(tested, alpha=FDR_LEVEL, method="fdr_bh")[1])
    return [float(next(adjusted)) if p is not None else None for p in p_values]


def verdict(measure: Measure, g: float | None, q: float | None) -> str:
    """Return success, opposite, none or too_few for a measure's deciding comparison."""
    if g is None or q is None:
        return TOO_FEW
    if q >= FDR_LEVEL or abs(g) < MIN_EFFECT:
        return NO_DIFFERENCE
    better = g > 0 if measure.direction == "higher" else g < 0
    return SUCCESS if better else OPPOSITE


def top_group(
    dataset: Dataset, ratios: dict[int, float], share: float
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Return the masks of the top performers and of the rest, and the lowest top ratio.

    Sellers without a fair ratio are in neither. The top group is the ``share`` of the
    ranked sellers (at least one), ties at the edge going by seller number.
    """
    ratio = np.array([ratios.get(seller.id, np.nan) for seller in dataset.sellers], dtype=float)
    order = np.argsort(-np.nan_to_num(ratio, nan=-np.inf), kind="stable")
    ranked = [int(row) for row in order if np.isfinite(ratio[row])]
    top = np.zeros(dataset.size, dtype=bool)
    rest = np.zeros(dataset.size, dtype=bool)
    if not ranked:
        return top, rest, None
    size = max(1, round(len(ranked) * share))
    top[ranked[:size]] = True
    rest[ranked[size:]] = True
    return top, rest, float(ratio[ranked[size - 1]])


def _seed(dataset: Dataset) -> int:
    # The same period gives the same intervals on every run.
    return zlib.crc32(dataset.period.label.encode())


def _number(value: float | None) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def behaviour_payload(
    dataset: Dataset, ratios: dict[int, float], *, share: float, fair_result: str = MAIN_RESULT
) -> Payload:
    """Compare the top performers (on ``ratios``) with the rest on every measure."""
    top, rest, threshold = top_group(dataset, ratios, share)
    n_top, n_rest = int(top.sum()), int(rest.sum())
    too_small = n_top < MIN_GROUP or n_rest < MIN_GROUP
    rng = np.random.default_rng(_seed(dataset))
    found = measures(dataset)
    comparisons: dict[str, list[Comparison]] = {"leading": [], "concurrent": []}
    previous = len(dataset.history) >= 2
    for measure in found:
        values = measure_values(dataset, measure)
        current = values[:, -1]
        comparisons["concurrent"].append(
            compare(current[top], current[rest], rng, test=not too_small)
        )
        before = values[:, -2] if previous else np.full(dataset.size, np.nan)
        comparisons["leading"].append(compare(before[top], before[rest], rng, test=not too_small))
    qs = {
        key: q_values([c.p for c in items])
        for key, items in comparisons.items()  # one family per comparison
    }
    rows: list[dict[str, Any]] = []
    for index, measure in enumerate(found):
        leading = comparisons["leading"][index]
        concurrent = comparisons["concurrent"][index]
        evidence = "leading" if leading.tested or not concurrent.tested else "concurrent"
        deciding = leading if evidence == "leading" else concurrent
        q = qs[evidence][index]
        rows.append(
            {
                "code": measure.code,
                "name": measure.name,
                "description": measure.description,
                "kind": measure.kind,
                "unit": measure.unit,
                "decimals": measure.decimals,
                "direction": measure.direction,
                "kpi": measure.kpi,
                "formula": measure.formula,
                "evidence": evidence,
                "status": verdict(measure, deciding.g, q),
                "g": _number(deciding.g),
                "q": q,
                # The level the top performers work at now: the target a KPI would get.
                "target": _number(concurrent.median_top),
                "leading": leading.as_payload(qs["leading"][index]),
                "concurrent": concurrent.as_payload(qs["concurrent"][index]),
            }
        )
    order = {SUCCESS: 0, OPPOSITE: 1, NO_DIFFERENCE: 2, TOO_FEW: 3}
    rows.sort(
        key=lambda r: (
            order[r["status"]],
            -abs(r["g"]) if r["status"] in (SUCCESS, OPPOSITE) else (r["q"] or 1.0),
            r["code"],
        )
    )
    rank = 0
    for row in rows:
        if row["status"] == SUCCESS:
            rank += 1
            row["rank"] = rank
        else:
            row["rank"] = None
        for key in ("leading", "concurrent"):
            row[key] = {name: _clean(value) for name, value in row[key].items()}
    previous_label = dataset.history[-2].label if previous else None
    return {
        "fair_result": fair_result,
        "top_share": share,
        "min_group": MIN_GROUP,
        "fdr_level": FDR_LEVEL,
        "min_effect": MIN_EFFECT,
        "confidence": CONFIDENCE,
        "resamples": BOOTSTRAP_RESAMPLES,
        "ranking": "leading",
        "previous_period": previous_label,
        "sellers": n_top + n_rest,
        "top": n_top,
        "rest": n_rest,
        "too_small": too_small,
        "top_threshold": threshold,
        "top_sellers": [
            seller.id for seller, chosen in zip(dataset.sellers, top, strict=True) if chosen
        ],
        "measures": rows,
    }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@analysis(KEY, order=20)
def behaviours(context: RunContext) -> Payload:
    """The success behaviours of the period: every measure, top performers against the rest."""
    return behaviour_payload(context.dataset, fair_ratios(context), share=top_share())


def measure_of_row(row: dict[str, Any]) -> Measure:
    """Return the measure a stored payload's row describes."""
    return Measure(
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        unit=row["unit"],
        decimals=row["decimals"],
        direction=row["direction"],
        kpi=row["kpi"],
        formula=row.get("formula", row["code"]),
        description=row.get("description", ""),
    )


def success_behaviours(payload: Payload) -> list[dict[str, Any]]:
    """Return the measures of a stored payload called success behaviours, ranked."""
    return [row for row in payload.get("measures", []) if row["status"] == SUCCESS]
