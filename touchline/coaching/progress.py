"""Progress against the seller's own baseline: recognition worth giving, trends going wrong.

A seller is compared with themself, never with the others, over the last
``WINDOW`` complete quarters of each KPI on their card:

- **a steady trend**: the Theil–Sen slope (the median of the slopes between every pair
  of quarters, robust to one odd quarter) with its 95 % confidence interval wholly on
  the better side of zero, and a fitted change over the window of at least
  ``MIN_CHANGE`` of the seller's own median level;
- **beyond the usual**: the latest complete quarter more than ``BEYOND`` robust standard
  deviations (1.4826 x the median absolute deviation, at least a tenth of the seller's
  level) from the seller's median of the quarters before it, and outside all of them.

Regression to the mean: a quarter after an unusually weak one tends to look better by
chance alone. Neither rule compares with the quarter before; both compare with the
seller's median over several quarters, and the trend needs its whole interval on one
side, so one lucky quarter after a bad one is not called progress.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.config import get_settings
from touchline.kpis.models import Kpi, KpiValue, SubjectKind
from touchline.org.periods import Period, PeriodKind, period_containing

WINDOW = 6
MIN_QUARTERS = 5
MIN_CHANGE = 0.25
BEYOND = 3.0
SPREAD_FLOOR = 0.1
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Trend:
    """A KPI of one seller moving clearly, for better or worse, over recent quarters."""

    seller_id: int
    kpi: Kpi
    kind: str  # "trend" or "beyond_usual"
    better: bool
    first_label: str
    last_label: str
    first_value: float
    last_value: float
    baseline: float

    def facts(self) -> dict[str, object]:
        """Return the trend as plain values, for an agenda item."""
        return {
            "kpi": self.kpi.code,
            "kind": self.kind,
            "from": self.first_label,
            "to": self.last_label,
            "first": self.first_value,
            "last": self.last_value,
            "baseline": self.baseline,
        }


def complete_quarters(today: date, count: int = WINDOW) -> list[Period]:
    """Return the ``count`` fiscal quarters before the running one, oldest first."""
    running = period_containing(
        today, PeriodKind.QUARTER, fiscal_start_month=get_settings().fiscal_year_start_month
    )
    found = [running.previous()]
    while len(found) < count:
        found.insert(0, found[0].previous())
    return found


def _history(
    session: Session, seller_ids: list[int], kpi_ids: list[int], labels: list[str]
) -> dict[tuple[int, int], dict[str, float]]:
    rows = session.execute(
        select(KpiValue.subject_id, KpiValue.kpi_id, KpiValue.period, KpiValue.value).where(
            KpiValue.subject_kind == SubjectKind.SELLER,
            KpiValue.subject_id.in_(seller_ids),
            KpiValue.kpi_id.in_(kpi_ids),
            KpiValue.period.in_(labels),
        )
    ).all()
    found: dict[tuple[int, int], dict[str, float]] = {}
    for seller_id, kpi_id, label, value in rows:
        if value is not None:
            found.setdefault((seller_id, kpi_id), {})[label] = float(value)
    return found


def _judge(
    seller_id: int, kpi: Kpi, quarters: list[Period], values: dict[str, float]
) -> Trend | None:
    present = [
        (index, p.label, values[p.label]) for index, p in enumerate(quarters) if p.label in values
    ]
    if len(present) < MIN_QUARTERS:
        return None
    x = np.array([index for index, _label, _value in present], dtype=float)
    raw = np.array([value for _index, _label, value in present])
    sign = -1.0 if kpi.direction == "lower" else 1.0
    y = sign * raw
    level = float(np.median(np.abs(raw)))
    if level <= 0:
        return None
    first, last = present[0], present[-1]

    def trend(kind: str, better: bool) -> Trend:
        return Trend(seller_id, kpi, kind, better, first[1], last[1], first[2], last[2], level)

    if np.ptp(y) > 0:
        # Imported here: scipy.stats takes seconds to load, and most commands never judge.
        from scipy.stats import theilslopes

        slope, _intercept, low, high = theilslopes(y, x, alpha=CONFIDENCE)
        change = abs(float(slope)) * float(x[-1] - x[0])
        if change >= MIN_CHANGE * level:
            if low > 0:
                return trend("trend", True)
            if high < 0:
                return trend("trend", False)
    before = y[:-1]
    median = float(np.median(before))
    # A handful of quarters gives an unsteady spread: never below a tenth of the level.
    spread = max(1.4826 * float(np.median(np.abs(before - median))), SPREAD_FLOOR * level)
    latest_is_last = present[-1][0] == len(quarters) - 1
    beyond = abs(y[-1] - median) > BEYOND * spread
    outside = y[-1] > before.max() or y[-1] < before.min()
    if latest_is_last and beyond and outside:
        return trend("beyond_usual", bool(y[-1] > median))
    return None


def trends(
    session: Session, *, seller_ids: list[int], kpis: Iterable[Kpi], today: date
) -> list[Trend]:
    """Return every clear trend of the sellers' KPIs over the last complete quarters.

    Values come from the stored KPI values; a KPI with fewer than ``MIN_QUARTERS``
    quarters of values is not judged.
    """
    kpi_list = list({kpi.id: kpi for kpi in kpis}.values())
    if not seller_ids or not kpi_list:
        return []
    quarters = complete_quarters(today)
    history = _history(session, seller_ids, [k.id for k in kpi_list], [q.label for q in quarters])
    found = []
    for seller_id in seller_ids:
        for kpi in kpi_list:
            judged = _judge(seller_id, kpi, quarters, history.get((seller_id, kpi.id), {}))
            if judged is not None:
                found.append(judged)
    return found
