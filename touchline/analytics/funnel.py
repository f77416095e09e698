"""The funnel: stage-to-stage conversion and time in stage per seller against their
unit, showing where in the process each seller loses deals (docs/analytics.md,
"Funnel").

The deals are those created in the ``WINDOW_PERIODS`` periods ending with the analysed
one, as they stood on its pace day (the running period's last day of data, an ended
period's last day): a deal closed later is still open then.

- **With stage history** (``DealStageChange`` for at least half of those deals) the
  stages are ordered by where they usually come in a deal's history; a deal in a stage
  either *advanced* (entered a later stage, or was won from it), was *lost* from it
  (closed lost while it was the deal's last stage) or is *still in it*. Stages named
  "Closed ..." are the outcome, not a stage: the deal's status says it.
- **Without** it, the funnel is created -> closed -> won: every deal is in one stage,
  open, until it is won or lost.

Conversion of a step is advanced / (advanced + lost): deals still in the stage are left
out (they are neither), with a Wilson interval per seller. Time in a stage runs from
entering it to leaving it (the next stage or the close); a deal still in it is censored
at the pace day, so the median is the Kaplan–Meier median (statsmodels
``SurvfuncRight``) with its interval. A seller **loses deals at a step** when the whole
interval of their conversion lies below their unit's rate, and is **slow in a stage**
when the whole interval of their median lies above the unit's median; the unit's
figures pool its field sellers' deals (the seller's among them).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from scipy.stats import norm
from sqlalchemy import select
from sqlalchemy.orm import Session
from statsmodels.duration.survfunc import SurvfuncRight

from touchline.analytics.registry import Payload, RunContext, analysis
from touchline.analytics.warning_pace import pace_day
from touchline.crm.models import Deal, DealStageChange
from touchline.kpis.compute import company_today
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period

KEY = "funnel"
WINDOW_PERIODS = 4
CONFIDENCE = 0.95
# Fewer resolved deals in a step than this and a seller's rate is shown, never flagged.
MIN_DEALS = 5
MIN_HISTORY_SHARE = 0.5
OPEN_STAGE = "open"
WON = "won"


@dataclass(frozen=True)
class DealFacts:
    """A deal as it stood on the pace day."""

    id: int
    seller_id: int
    created: date
    closed: date | None  # None: still open on the pace day
    won: bool


@dataclass
class Passage:
    """One deal's passage through one stage."""

    stage: str
    days: float
    left: bool  # False: still in the stage on the pace day (censored)
    outcome: str  # advanced, lost or open


@dataclass
class Tally:
    """What a group of deals did in each stage: outcomes, and times with censoring."""

    advanced: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lost: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    still: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    days: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    left: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of_outcomes(cls, days: np.ndarray, left: np.ndarray, won: np.ndarray) -> Tally:
        """Return the tally of deals in the one stage "open" (created -> closed -> won)."""
        tally = cls()
        tally.deals = int(days.size)
        tally.won = int(won.sum())
        tally.advanced[OPEN_STAGE] = tally.won
        tally.lost[OPEN_STAGE] = int((left & ~won).sum())
        tally.still[OPEN_STAGE] = int((~left).sum())
        tally.days[OPEN_STAGE] = days.tolist()
        tally.left[OPEN_STAGE] = left.tolist()
        return tally

    deals: int = 0
    won: int = 0

    def add(self, passages: list[Passage], won: bool) -> None:
        self.deals += 1
        self.won += int(won)
        for passage in passages:
            {"advanced": self.advanced, "lost": self.lost, "open": self.still}[passage.outcome][
                passage.stage
            ] += 1
            self.days[passage.stage].append(passage.days)
            self.left[passage.stage].append(passage.left)


def window_of(period: Period) -> list[Period]:
    """Return the ``WINDOW_PERIODS`` periods ending with ``period``, oldest first."""
    found = [period]
    while len(found) < WINDOW_PERIODS:
        found.insert(0, found[0].previous())
    return found


def passages_with_history(
    deal: DealFacts, history: list[tuple[date, str]], order: dict[str, int], day: date
) -> list[Passage]:
    """Return the deal's passages through the stages of its history (sorted by day)."""
    steps = sorted(history, key=lambda item: (item[0], order.get(item[1], 0)))
    found: list[Passage] = []
    for index, (entered, stage) in enumerate(steps):
        if index + 1 < len(steps):
            leaves: date | None = steps[index + 1][0]
            outcome = "advanced"
        elif deal.closed is not None:
            leaves = deal.closed
            outcome = "advanced" if deal.won else "lost"
        else:
            leaves, outcome = None, "open"
        end = leaves if leaves is not None else day
        found.append(Passage(stage, float((end - entered).days), leaves is not None, outcome))
    return found


def passages_from_outcome(deal: DealFacts, day: date) -> list[Passage]:
    """Return the deal's one passage through "open": to its close, or censored."""
    if deal.closed is None:
        return [Passage(OPEN_STAGE, float((day - deal.created).days), False, "open")]
    outcome = "advanced" if deal.won else "lost"
    return [Passage(OPEN_STAGE, float((deal.closed - deal.created).days), True, outcome)]


def stage_order(histories: dict[int, list[tuple[date, str]]]) -> list[str]:
    """Return the stages in the order they usually come: by their mean position in a
    deal's history (first seen breaks ties)."""
    positions: dict[str, list[int]] = defaultdict(list)
    for history in histories.values():
        for position, (_day, stage) in enumerate(sorted(history)):
            positions[stage].append(position)
    return sorted(positions, key=lambda stage: (float(np.mean(positions[stage])), stage))


def km_median(
    days: list[float], left: list[bool], *, interval: bool = True
) -> tuple[float | None, float | None, float | None]:
    """Return the Kaplan–Meier median time with its interval: the first time the
    survival falls below one half (statsmodels, as SAS); None while it has not, that is
    while half or more of the deals are still in the stage."""
    if not days or not any(left):
        return None, None, None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        survival = SurvfuncRight(np.asarray(days, dtype=float), np.asarray(left, dtype=float))
        median = float(survival.quantile(0.5))
        if not interval:
            return _number(median), None, None
        try:
            low, high = survival.quantile_ci(0.5, alpha=1 - CONFIDENCE)
        except (ValueError, IndexError, ZeroDivisionError):
            low, high = np.nan, np.nan
    return _number(median), _number(float(low)), _number(float(high))


def _number(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def funnel_steps(stages: list[str]) -> list[dict[str, str]]:
    found = [
        {"key": f"{stages[i]}>{stages[i + 1]}", "from": stages[i], "to": stages[i + 1]}
        for i in range(len(stages) - 1)
    ]
    found.append({"key": f"{stages[-1]}>{WON}", "from": stages[-1], "to": WON})
    return found


Z = float(norm.ppf(0.5 + CONFIDENCE / 2))


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """Return the Wilson score interval of ``successes`` out of ``trials`` (the closed form
    of ``statsmodels`` ``proportion_confint(method="wilson")``, without its overhead)."""
    share = successes / trials
    spread = Z * Z / trials
    centre = (share + spread / 2) / (1 + spread)
    half = Z / (1 + spread) * math.sqrt(share * (1 - share) / trials + spread / (4 * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(advanced: int, lost: int) -> tuple[float | None, float | None, float | None]:
    resolved = advanced + lost
    if resolved == 0:
        return None, None, None
    low, high = wilson(advanced, resolved)
    return advanced / resolved, low, high


def summarise_tally(
    tally: Tally, stages: list[str], steps: list[dict[str, str]], *, intervals: bool = True
) -> dict[str, Any]:
    rows = []
    for step in steps:
        stage = step["from"]
        advanced, lost = tally.advanced[stage], tally.lost[stage]
        rate, low, high = _rate(advanced, lost)
        rows.append(
            {
                "key": step["key"],
                "entered": advanced + lost + tally.still[stage],
                "advanced": advanced,
                "lost": lost,
                "open": tally.still[stage],
                "rate": rate,
                "low": low,
                "high": high,
            }
        )
    times = []
    for stage in stages:
        median, low, high = km_median(tally.days[stage], tally.left[stage], interval=intervals)
        times.append(
            {
                "stage": stage,
                "deals": len(tally.days[stage]),
                "left": int(sum(tally.left[stage])),
                "median": median,
                "low": low,
                "high": high,
            }
        )
    if stages == [OPEN_STAGE]:
        # created -> closed -> won
        closed = tally.advanced[OPEN_STAGE] + tally.lost[OPEN_STAGE]
        reached = [tally.deals, closed, tally.won]
    else:
        reached = [len(tally.days[stage]) for stage in stages] + [tally.won]
    return {
        "deals": tally.deals,
        "won": tally.won,
        "steps": rows,
        "times": times,
        "reached": reached,
    }


def load_deals(
    session: Session, start: date, day: date
) -> tuple[list[DealFacts], dict[int, list[tuple[date, str]]]]:
    """Return the deals created from ``start`` to ``day`` as they stood on ``day``, and
    their stage history up to ``day`` (stages named "Closed ..." left out)."""
    deals = [
        DealFacts(
            deal_id,
            seller_id,
            created,
            closed if closed is not None and closed <= day and status != "open" else None,
            status == "won" and closed is not None and closed <= day,
        )
        for deal_id, seller_id, created, closed, status in session.connection().execute(
            select(Deal.id, Deal.seller_id, Deal.created_date, Deal.close_date, Deal.status).where(
                Deal.created_date.between(start, day)
            )
        )
    ]
    histories: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for deal_id, stage, entered in session.connection().execute(
        select(DealStageChange.deal_id, DealStageChange.stage, DealStageChange.entered_on)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(Deal.created_date.between(start, day), DealStageChange.entered_on <= day)
    ):
        if not stage.strip().lower().startswith("closed"):
            histories[deal_id].append((entered, stage))
    return deals, histories


Tallies = tuple[dict[int, Tally], dict[int, Tally], Tally]


def _stage_tallies(
    deals: list[DealFacts],
    histories: dict[int, list[tuple[date, str]]],
    order: dict[str, int],
    sellers: dict[int, Seller],
    day: date,
) -> Tallies:
    by_seller: dict[int, Tally] = defaultdict(Tally)
    by_unit: dict[int, Tally] = defaultdict(Tally)
    company = Tally()
    for deal in deals:
        seller = sellers.get(deal.seller_id)
        if seller is None:
            continue
        passages = passages_with_history(deal, histories[deal.id], order, day)
        for tally in (by_seller[seller.id], by_unit[seller.unit_id], company):
            tally.add(passages, deal.won)
    return by_seller, by_unit, company


def _outcome_tallies(deals: list[DealFacts], sellers: dict[int, Seller], day: date) -> Tallies:
    """Tally created -> closed -> won per seller, unit and company on whole arrays (the
    common case, and the one with most deals: no stage history)."""
    kept = [deal for deal in deals if deal.seller_id in sellers]
    seller_of = np.array([deal.seller_id for deal in kept], dtype=np.int64)
    unit_of = np.array([sellers[deal.seller_id].unit_id for deal in kept], dtype=np.int64)
    left = np.array([deal.closed is not None for deal in kept], dtype=bool)
    won = np.array([deal.won for deal in kept], dtype=bool)
    days = np.array([((deal.closed or day) - deal.created).days for deal in kept], dtype=float)

    def grouped(keys: np.ndarray) -> dict[int, Tally]:
        order = np.argsort(keys, kind="stable")
        found: dict[int, Tally] = {}
        values, starts = np.unique(keys[order], return_index=True)
        for key, chosen in zip(values, np.split(order, starts[1:]), strict=True):
            found[int(key)] = Tally.of_outcomes(days[chosen], left[chosen], won[chosen])
        return found

    if not kept:
        return {}, {}, Tally()
    return grouped(seller_of), grouped(unit_of), Tally.of_outcomes(days, left, won)


def funnel_of(session: Session, period: Period, *, today: date) -> Payload:
    """Return the funnel of every field seller and team over the window ending with
    ``period``, as of its pace day."""
    day = pace_day(session, period, today) or period.start
    start = window_of(period)[0].start
    deals, histories = load_deals(session, start, day)
    with_history = [deal for deal in deals if histories.get(deal.id)]
    mode = "stages" if deals and len(with_history) >= MIN_HISTORY_SHARE * len(deals) else "outcomes"
    if mode == "stages":
        stages = stage_order({deal.id: histories[deal.id] for deal in with_history})
        order = {stage: position for position, stage in enumerate(stages)}
        counted = with_history
    else:
        stages, order, counted = [OPEN_STAGE], {}, deals
    units = {unit.id: unit for unit in session.scalars(select(Unit))}
    managers = {unit.manager_id for unit in units.values() if unit.manager_id is not None}
    sellers = {
        seller.id: seller
        for seller in session.scalars(select(Seller).where(Seller.active.is_(True)))
        if seller.id not in managers
    }
    if mode == "stages":
        by_seller, by_unit, company = _stage_tallies(counted, histories, order, sellers, day)
    else:
        by_seller, by_unit, company = _outcome_tallies(counted, sellers, day)
    steps = funnel_steps(stages)
    unit_rows = {
        str(unit_id): {
            "external_id": units[unit_id].external_id,
            "name": units[unit_id].name,
            **summarise_tally(tally, stages, steps),
        }
        for unit_id, tally in sorted(by_unit.items())
    }
    seller_rows: dict[str, Any] = {}
    for seller_id, tally in sorted(by_seller.items()):
        seller = sellers[seller_id]
        own = summarise_tally(tally, stages, steps)
        unit = unit_rows[str(seller.unit_id)]
        weakest, widest = None, 0.0
        for mine, theirs in zip(own["steps"], unit["steps"], strict=True):
            resolved = mine["advanced"] + mine["lost"]
            mine["unit_rate"] = theirs["rate"]
            mine["gap"] = (
                mine["rate"] - theirs["rate"]
                if mine["rate"] is not None and theirs["rate"] is not None
                else None
            )
            mine["loses"] = bool(
                resolved >= MIN_DEALS
                and mine["high"] is not None
                and theirs["rate"] is not None
                and mine["high"] < theirs["rate"]
            )
            if mine["loses"] and mine["gap"] is not None and -mine["gap"] > widest:
                weakest, widest = mine["key"], -mine["gap"]
        for mine, theirs in zip(own["times"], unit["times"], strict=True):
            mine["unit_median"] = theirs["median"]
            mine["slow"] = bool(
                mine["low"] is not None
                and theirs["median"] is not None
                and mine["low"] > theirs["median"]
            )
        seller_rows[str(seller_id)] = {
            "external_id": seller.external_id,
            "name": seller.name,
            "unit_id": seller.unit_id,
            "weakest": weakest,
            **own,
        }
    return {
        "period": period.label,
        "as_of": day.isoformat(),
        "window": [start.isoformat(), day.isoformat()],
        "window_periods": [p.label for p in window_of(period)],
        "mode": mode,
        "stages": stages,
        "funnel": ["created", "closed", WON] if mode == "outcomes" else [*stages, WON],
        "steps": steps,
        "confidence": CONFIDENCE,
        "min_deals": MIN_DEALS,
        "company": summarise_tally(company, stages, steps),
        "units": unit_rows,
        "sellers": seller_rows,
    }


@analysis(KEY, order=50)
def funnel(context: RunContext) -> Payload:
    """Conversion and time in stage per seller against their unit."""
    return funnel_of(context.session, context.period, today=company_today())
