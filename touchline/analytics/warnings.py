"""Early warnings: every KPI on every card in the running period, judged on its pace to
period end and its trend over recent periods, and teams whose energy falls while their
activity targets rise (docs/analytics.md, "Early warnings").

- **The pace day.** The analysed period is the running one when it holds the company's
  today; its actuals are judged on the last day the data reaches (the latest stored
  activity or deal, when that is before today: an import a few days old must not look
  like a slump). A period that has ended is judged on its last day, so its projection
  is its actual. A period not begun has nothing to judge.
- **Pace.** For a KPI that adds up over time, the projection to period end is
  ``actual / share``, where ``share`` is the part of a period's value normally reached
  by this point of the period, learned from the ``PROFILE_PERIODS`` earlier periods of
  the same kind: the seller's own daily events when they hold ``MIN_PROFILE_EVENTS``,
  else their team's pooled, else linear (the elapsed share of days). Any other KPI (a
  ratio, a score) is projected at its value to date. The projection is judged against
  the card's target with the card's thresholds.
- **Trend.** The Theil–Sen slope of the KPI over the last ``TREND_PERIODS`` complete
  periods (at least ``MIN_TREND_PERIODS`` with a value), with its ``TREND_CONFIDENCE``
  interval; it warns only when the whole interval points the wrong way for the KPI's
  direction.
- **Energy.** A team's weekly mean pulse energy over the last ``ENERGY_WEEKS`` weeks
  (weeks with fewer than three answers left out, as everywhere) with its Theil–Sen slope
  and interval, and the change of the activity targets (of KPIs that add up) on its
  sellers' cards from the window's first day to the pace day: a warning when the whole
  interval is below zero and the targets rose by more than ``TARGET_RISE``.

A warning carries the decision rule of the KPI's version in force; the dashboard, the
coaching agenda (source "warning"), the page and the API read the stored payload
(warning_views.py). The pace lives in warning_pace.py, the trends in warning_trend.py and
the energy in warning_energy.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.analytics import warning_energy
from touchline.analytics.registry import Payload, RunContext, analysis
from touchline.analytics.warning_energy import ENERGY_KPI
from touchline.analytics.warning_pace import (
    EVENTS,
    PROFILE_PERIODS,
    EventSource,
    Profile,
    Share,
    event_profile,
    pace_day,
    share_of,
)
from touchline.analytics.warning_trend import stored_history, theil_sen, trend_periods
from touchline.kpis.catalogue import Versions
from touchline.kpis.compute import company_today
from touchline.kpis.metrics import Direction
from touchline.kpis.models import Kpi, ScorecardTemplate, SubjectKind, TimeAggregation
from touchline.kpis.scorecards import CardBook, EffectiveLine, attainment, light, scaled_target
from touchline.kpis.unit_cards import team_target
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period
from touchline.ratings.pulse import TREND_CONFIDENCE as ENERGY_CONFIDENCE

KEY = "warnings"
TREND_CONFIDENCE = 0.95
MIN_TREND_PERIODS = 4
# Before a tenth of the period has passed a projection rests on too little to warn.
MIN_ELAPSED = 0.1


# --- judging one line --------------------------------------------------------------------


@dataclass(frozen=True)
class LineFacts:
    """A KPI on a card as the warnings judge it."""

    kpi: Kpi
    actual: float | None
    target: float | None
    green_from: float
    amber_from: float


def judge_pace(
    facts: LineFacts,
    share: Share | None,
    fraction: float,
    trend: tuple[float, float, float, int],
    rule: str,
) -> dict[str, Any]:
    """Return a line of the payload: pace, projection, projected light and trend."""
    kpi = facts.kpi
    adds_up = kpi.time_aggregation == TimeAggregation.SUM
    projection = facts.actual
    if adds_up and facts.actual is not None and share is not None:
        # A share near zero early in a period would blow the projection up.
        projection = facts.actual / max(share.value, 0.02) if fraction < 1 else facts.actual
    projected = attainment(projection, facts.target, kpi.direction)
    shown_light = light(projected, green_from=facts.green_from, amber_from=facts.amber_from)
    slope, low, high, periods = trend
    wrong_way = falls(low, high, kpi.direction)
    judged = fraction >= MIN_ELAPSED or not adds_up
    return {
        "kpi": kpi.code,
        "actual": facts.actual,
        "target": facts.target,
        "share": share.value if adds_up and share is not None else None,
        "method": (share.method if share is not None else "linear") if adds_up else "level",
        "profile_events": share.events if adds_up and share is not None else 0,
        "projection": projection,
        "projected_attainment": projected,
        "light": shown_light,
        "off_pace": judged and shown_light in ("amber", "red"),
        "slope": _number(slope),
        "low": _number(low),
        "high": _number(high),
        "periods": int(periods),
        "falling": bool(wrong_way),
        "rule": rule,
    }


def falls(low: float, high: float, direction: str) -> bool:
    """True when the whole interval of a trend points the wrong way for ``direction``."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return False
    return bool(high < 0 if direction == Direction.HIGHER else low > 0)


def _number(value: float | None) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _trends(values: np.ndarray) -> list[tuple[float, float, float, int]]:
    found = theil_sen(values, confidence=TREND_CONFIDENCE, minimum=MIN_TREND_PERIODS)
    return [
        (float(s), float(lo), float(hi), int(n))
        for s, lo, hi, n in zip(found.slope, found.low, found.high, found.points, strict=True)
    ]


# --- the analysis --------------------------------------------------------------------------


def early_warnings(session: Session, period: Period, *, today: date) -> Payload:
    """Return the pace, trend and warnings of every card's KPIs in ``period``, and the
    teams whose energy falls while their activity targets rise, as of ``today``."""
    day = pace_day(session, period, today)
    base: Payload = {
        "period": period.label,
        "as_of": day.isoformat() if day else None,
        "period_end": period.end.isoformat(),
        "confidence": TREND_CONFIDENCE,
        "energy_confidence": ENERGY_CONFIDENCE,
        "kpis": {},
        "sellers": {},
        "units": {},
        "energy": {},
        "warnings": [],
    }
    if day is None:
        return {**base, "fraction": 0.0, "status": "not_begun"}
    fraction = period.elapsed_share(day)
    base["fraction"] = fraction
    base["status"] = "running" if day < period.end else "ended"
    active = list(
        session.scalars(select(Seller).where(Seller.active.is_(True)).order_by(Seller.external_id))
    )
    versions = Versions.load(session)
    book = CardBook(session, active)
    # The card's lines in force at the period's start, as the scorecard shows them.
    own_lines = {seller.id: book.lines_of(seller, period.start) for seller in active}
    sellers = [seller for seller in active if own_lines[seller.id]]
    units = {unit.id: unit for unit in session.scalars(select(Unit))}
    managers = {unit.manager_id for unit in units.values() if unit.manager_id is not None}
    field = [seller for seller in sellers if seller.id not in managers]
    team_members: dict[int, list[int]] = defaultdict(list)
    for seller in field:
        team_members[seller.unit_id].append(seller.id)
    kpis: dict[int, Kpi] = {
        line.kpi_id: book.kpis[line.kpi_id] for lines in own_lines.values() for line in lines
    }
    earlier = _earlier(period)
    sources = {
        kpi.code: EVENTS[kpi.code]
        for kpi in kpis.values()
        if kpi.time_aggregation == TimeAggregation.SUM and kpi.code in EVENTS
    }
    profiles = {
        source: event_profile(session, source, earlier, fraction)
        for source in set(sources.values())
    }
    history = trend_periods(period, day)
    ids = [seller.id for seller in sellers]
    histories = stored_history(session, SubjectKind.SELLER, ids, list(kpis), history)
    actuals = stored_history(
        session, SubjectKind.SELLER, ids, list(kpis), [period], partial_too=True
    )
    rules = {kpi_id: versions.in_force(kpi_id, day).decision_rule for kpi_id in kpis}
    base["kpis"] = {
        kpi.code: {
            "id": kpi.id,
            "name": kpi.name,
            "level": kpi.level,
            "direction": kpi.direction,
            "unit": kpi.unit,
            "decimals": kpi.decimals,
            "adds_up": kpi.time_aggregation == TimeAggregation.SUM,
            "builtin": kpi.builtin,
        }
        for kpi in kpis.values()
    }
    pending = [(seller, line) for seller in sellers for line in own_lines[seller.id]]
    trends = _trends(histories.rows([(seller.id, line.kpi_id) for seller, line in pending]))
    for (seller, line), trend in zip(pending, trends, strict=True):
        kpi = book.kpis[line.kpi_id]
        source = sources.get(kpi.code)
        members = team_members.get(seller.unit_id, [])
        share = share_of(profiles.get(source) if source else None, members, seller.id, fraction)
        facts = _line_facts(kpi, line, versions, period, actuals.latest(seller.id, kpi.id))
        entry = base["sellers"].setdefault(
            str(seller.id),
            {
                "external_id": seller.external_id,
                "name": seller.name,
                "unit_id": seller.unit_id,
                "unit": units[seller.unit_id].name if seller.unit_id in units else "",
                "unit_external_id": (
                    units[seller.unit_id].external_id if seller.unit_id in units else ""
                ),
                "lines": [],
            },
        )
        entry["lines"].append(judge_pace(facts, share, fraction, trend, rules[kpi.id]))
    _unit_lines(
        session,
        base,
        book,
        versions,
        period,
        day,
        team_members,
        units,
        profiles,
        sources,
        own_lines,
    )
    base["energy"] = warning_energy.team_energy_warnings(
        session, book, day, team_members, units, field
    )
    energy_rule = warning_energy.energy_rule(session, versions, day)
    base["warnings"] = _warnings(base, energy_rule)
    base["energy_rule"] = energy_rule
    # A KPI's rule is the same on every line: stored once, with the KPI.
    for entry in [*base["sellers"].values(), *base["units"].values()]:
        for line in entry["lines"]:
            base["kpis"][line["kpi"]]["rule"] = line.pop("rule")
    for warning in base["warnings"]:
        del warning["rule"]
    return base


def _line_facts(
    kpi: Kpi, line: EffectiveLine, versions: Versions, period: Period, actual: float | None
) -> LineFacts:
    """Return a seller's line with the target and thresholds in force, as the card does
    (touchline/kpis/scorecards.py ``judge_line``): the quarterly target scaled to the period."""
    version = versions.in_force(kpi.id, period.start)
    target = line.target if line.target is not None else version.target
    return LineFacts(
        kpi,
        actual,
        scaled_target(target, kpi, period),
        line.green_from if line.green_from is not None else version.green_from,
        line.amber_from if line.amber_from is not None else version.amber_from,
    )


def _earlier(period: Period) -> list[Period]:
    found = [period.previous()]
    while len(found) < PROFILE_PERIODS:
        found.append(found[-1].previous())
    return found


def _unit_template(book: CardBook, unit_id: int, members: list[Seller]) -> ScorecardTemplate | None:
    """The unit's template: assigned to it or the nearest unit above, else its sellers' most
    common one (as touchline/kpis/unit_cards.py)."""
    for unit_up in book.tree.chain(unit_id):
        if unit_up in book.by_unit:
            return book.templates.get(book.by_unit[unit_up])
    common = Counter(
        template.id for seller in members if (template := book.template_of(seller)) is not None
    ).most_common(1)
    return book.templates.get(common[0][0]) if common else None


def _unit_lines(
    session: Session,
    base: Payload,
    book: CardBook,
    versions: Versions,
    period: Period,
    day: date,
    team_members: dict[int, list[int]],
    units: dict[int, Unit],
    profiles: dict[EventSource, Profile],
    sources: dict[str, EventSource],
    own_lines: dict[int, list[EffectiveLine]],
) -> None:
    """Add the team cards: the unit's stored actuals against its sellers' targets
    (a sum for a KPI that adds up, else their mean, as touchline/kpis/unit_cards.py)."""
    fraction = period.elapsed_share(day)
    sellers = {seller.id: seller for seller in session.scalars(select(Seller))}
    history = trend_periods(period, day)
    plans: list[tuple[int, LineFacts]] = []
    for unit_id, members in sorted(team_members.items()):
        template = _unit_template(book, unit_id, [sellers[m] for m in members])
        if template is None:
            continue
        seller_lines = {m: own_lines[m] for m in members}
        for line in book.template_lines.get(template.id, []):
            kpi = book.kpis[line.kpi_id]
            version = versions.in_force(kpi.id, period.start)
            target = team_target(line, kpi, version, seller_lines)
            plans.append(
                (
                    unit_id,
                    LineFacts(
                        kpi,
                        None,
                        scaled_target(target, kpi, period),
                        line.green_from if line.green_from is not None else version.green_from,
                        line.amber_from if line.amber_from is not None else version.amber_from,
                    ),
                )
            )
    kpi_ids = sorted({facts.kpi.id for _unit, facts in plans})
    teams = sorted(team_members)
    histories = stored_history(session, SubjectKind.UNIT, teams, kpi_ids, history)
    actuals = stored_history(session, SubjectKind.UNIT, teams, kpi_ids, [period], partial_too=True)
    trends = _trends(histories.rows([(unit_id, facts.kpi.id) for unit_id, facts in plans]))
    for (unit_id, facts), trend in zip(plans, trends, strict=True):
        unit = units[unit_id]
        actual = actuals.latest(unit_id, facts.kpi.id)
        facts = LineFacts(facts.kpi, actual, facts.target, facts.green_from, facts.amber_from)
        source = sources.get(facts.kpi.code)
        share = share_of(
            profiles.get(source) if source else None, team_members[unit_id], None, fraction
        )
        rule = versions.in_force(facts.kpi.id, day).decision_rule
        entry = base["units"].setdefault(
            str(unit_id),
            {
                "external_id": unit.external_id,
                "name": unit.name,
                "sellers": len(team_members[unit_id]),
                "lines": [],
            },
        )
        entry["lines"].append(judge_pace(facts, share, fraction, trend, rule))
        if facts.kpi.code not in base["kpis"]:
            base["kpis"][facts.kpi.code] = {
                "id": facts.kpi.id,
                "name": facts.kpi.name,
                "level": facts.kpi.level,
                "direction": facts.kpi.direction,
                "unit": facts.kpi.unit,
                "decimals": facts.kpi.decimals,
                "adds_up": facts.kpi.time_aggregation == TimeAggregation.SUM,
                "builtin": facts.kpi.builtin,
            }


def _warnings(base: Payload, energy_rule: str) -> list[dict[str, Any]]:
    """Return the warnings in the order a manager reads them: energy, red, amber, trends."""
    found: list[dict[str, Any]] = []
    for unit_id, team in base["energy"].items():
        if team["warned"]:
            found.append(
                {
                    "kind": "energy",
                    "subject": "unit",
                    "unit_id": int(unit_id),
                    "seller_id": None,
                    "kpi": ENERGY_KPI,
                    "severity": "red",
                    "rule": energy_rule,
                }
            )
    for subject, key in (("seller", "sellers"), ("unit", "units")):
        for subject_id, entry in base[key].items():
            for index, line in enumerate(entry["lines"]):
                common = {
                    "subject": subject,
                    "seller_id": int(subject_id) if subject == "seller" else None,
                    "unit_id": entry["unit_id"] if subject == "seller" else int(subject_id),
                    "kpi": line["kpi"],
                    "line": index,
                    "rule": line["rule"],
                }
                if line["off_pace"]:
                    found.append(
                        {
                            "kind": "pace",
                            "severity": line["light"],
                            "attainment": line["projected_attainment"],
                            **common,
                        }
                    )
                if line["falling"]:
                    found.append({"kind": "trend", "severity": "trend", **common})
    rank = {"energy": 0, "pace": 1, "trend": 2}
    severity = {"red": 0, "amber": 1, "trend": 2}
    # Within a kind, teams first, then the furthest behind.
    found.sort(
        key=lambda w: (
            rank[w["kind"]],
            severity[w["severity"]],
            w["subject"] != "unit",
            w.get("attainment") if w.get("attainment") is not None else 0.0,
        )
    )
    return found


@analysis(KEY, order=40)
def warnings(context: RunContext) -> Payload:
    """The early warnings of the period, as of the company's today."""
    return early_warnings(context.session, context.period, today=company_today())
