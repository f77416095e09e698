"""Teams whose pulse energy falls while the activity targets on their sellers' cards
rise (docs/analytics.md, "Early warnings").

Per team: the weekly mean energy over the last ``ENERGY_WEEKS`` weeks (weeks with fewer
than three answers left out, as everywhere), its Theil–Sen slope with the interval of the
team energy panel, and the change of the activity-level targets (of KPIs that add up)
from the first day of those weeks to the pace day. Warned when the whole interval is
below zero and the targets rose by more than ``TARGET_RISE``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.analytics.warning_trend import theil_sen
from touchline.config import get_settings
from touchline.crm.models import PulseAnswer
from touchline.kpis.catalogue import Versions
from touchline.kpis.compute import ANONYMITY_MINIMUM
from touchline.kpis.metrics import Level
from touchline.kpis.models import Kpi, TimeAggregation
from touchline.kpis.scorecards import CardBook
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodKind, period_containing
from touchline.ratings.pulse import TREND_CONFIDENCE as ENERGY_CONFIDENCE
from touchline.ratings.pulse import TREND_WEEKS as ENERGY_WEEKS

TARGET_RISE = 0.02
ENERGY_KPI = "pulse_energy"


def _number(value: float | None) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def energy_weeks(day: date) -> list[Period]:
    """Return the ``ENERGY_WEEKS`` ISO weeks ending with the week of ``day``, oldest first."""
    start_month = get_settings().fiscal_year_start_month
    weeks = [period_containing(day, PeriodKind.WEEK, fiscal_start_month=start_month)]
    while len(weeks) < ENERGY_WEEKS:
        weeks.insert(0, weeks[0].previous())
    return weeks


def _activity_targets(book: CardBook, sellers: list[Seller], day: date) -> float:
    """Return the sum of the activity-level targets (of KPIs that add up) on the sellers'
    cards in force on ``day``."""
    versions = book.versions
    total = 0.0
    for seller in sellers:
        for line in book.lines_of(seller, day):
            kpi = book.kpis[line.kpi_id]
            if kpi.level != Level.ACTIVITY or kpi.time_aggregation != TimeAggregation.SUM:
                continue
            target = (
                line.target if line.target is not None else versions.in_force(kpi.id, day).target
            )
            total += target or 0.0
    return total


def team_energy_warnings(
    session: Session,
    book: CardBook,
    day: date,
    team_members: dict[int, list[int]],
    units: dict[int, Unit],
    field: list[Seller],
) -> dict[str, Any]:
    """Return per team its weekly energy, trend with interval, the change of its
    activity targets over the same weeks, and whether it is warned."""
    weeks = energy_weeks(day)
    labels = [week.label for week in weeks]
    column = {label: index for index, label in enumerate(labels)}
    teams = sorted(team_members)
    row = {unit_id: index for index, unit_id in enumerate(teams)}
    sums = np.zeros((len(teams), len(labels)))
    counts = np.zeros((len(teams), len(labels)), dtype=int)
    for unit_id, week, total, count in session.execute(
        select(Seller.unit_id, PulseAnswer.week, func.sum(PulseAnswer.energy), func.count())
        .join(Seller, Seller.id == PulseAnswer.seller_id)
        .where(PulseAnswer.week.in_(labels), Seller.unit_id.in_(teams))
        .group_by(Seller.unit_id, PulseAnswer.week)
    ):
        sums[row[unit_id], column[week]] = float(total)
        counts[row[unit_id], column[week]] = int(count)
    with np.errstate(invalid="ignore", divide="ignore"):
        energy = np.where(counts >= ANONYMITY_MINIMUM, sums / np.maximum(counts, 1), np.nan)
    found = theil_sen(energy, confidence=ENERGY_CONFIDENCE, minimum=4)
    by_unit: dict[int, list[Seller]] = defaultdict(list)
    for seller in field:
        by_unit[seller.unit_id].append(seller)
    first_day = weeks[0].start
    result: dict[str, Any] = {}
    for unit_id in teams:
        index = row[unit_id]
        before = _activity_targets(book, by_unit[unit_id], first_day)
        after = _activity_targets(book, by_unit[unit_id], day)
        change = (after - before) / before if before > 0 else None
        high = _number(found.high[index])
        falling = high is not None and high < 0
        rising = change is not None and change > TARGET_RISE
        result[str(unit_id)] = {
            "external_id": units[unit_id].external_id,
            "name": units[unit_id].name,
            "weeks": labels,
            "energy": [_number(value) for value in energy[index]],
            "answers": [int(count) for count in counts[index]],
            "slope": _number(found.slope[index]),
            "low": _number(found.low[index]),
            "high": high,
            "targets_from": before,
            "targets_to": after,
            "target_change": change,
            "falling": falling,
            "targets_rising": rising,
            "warned": falling and rising,
        }
    return result


def energy_rule(session: Session, versions: Versions, day: date) -> str:
    kpi_id = session.scalar(select(Kpi.id).where(Kpi.code == ENERGY_KPI))
    if kpi_id is None:
        return ""
    try:
        return versions.in_force(kpi_id, day).decision_rule
    except LookupError:
        return ""
