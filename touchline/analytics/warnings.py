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
coaching agenda (source "warning"), the page and the API read the stored payload.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from touchline.analytics.registry import Payload, RunContext, analysis
from touchline.analytics.warning_trend import theil_sen
from touchline.config import get_settings
from touchline.crm.models import Activity, Deal, PulseAnswer
from touchline.kpis.catalogue import Versions
from touchline.kpis.compute import ANONYMITY_MINIMUM, company_today, data_span
from touchline.kpis.metrics import Direction, Level
from touchline.kpis.models import Kpi, KpiValue, ScorecardTemplate, SubjectKind, TimeAggregation
from touchline.kpis.scorecards import CardBook, EffectiveLine, attainment, light, scaled_target
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodKind, period_containing
from touchline.ratings.pulse import TREND_CONFIDENCE as ENERGY_CONFIDENCE
from touchline.ratings.pulse import TREND_WEEKS as ENERGY_WEEKS

KEY = "warnings"
TREND_CONFIDENCE = 0.95
TREND_PERIODS = 8
MIN_TREND_PERIODS = 4
PROFILE_PERIODS = 4
MIN_PROFILE_EVENTS = 30
# Before a tenth of the period has passed a projection rests on too little to warn.
MIN_ELAPSED = 0.1
TARGET_RISE = 0.02
ENERGY_KPI = "pulse_energy"


@dataclass(frozen=True)
class EventSource:
    """The daily events a KPI that adds up is made of, for its seasonality profile."""

    kind: str  # "won", "created" or an activity type
    amounts: bool = False


# What each built-in KPI counts by day. A KPI not listed (an expression, a coaching KPI)
# has no daily events to learn from and is paced linearly.
EVENTS: dict[str, EventSource] = {
    "revenue_won": EventSource("won", amounts=True),
    "deals_won": EventSource("won"),
    "new_customers": EventSource("won"),
    "pipeline_created": EventSource("created", amounts=True),
    "meetings": EventSource("meeting"),
    "meetings_new_customers": EventSource("meeting"),
    "calls": EventSource("call"),
    "emails": EventSource("email"),
    "demos": EventSource("demo"),
    "social_touches": EventSource("social"),
}


def last_data_day(session: Session) -> date | None:
    """Return the latest day with a stored activity, deal creation or close; None if none."""
    days = [
        session.scalar(select(func.max(Activity.occurred_on))),
        session.scalar(select(func.max(Deal.created_date))),
        session.scalar(select(func.max(Deal.close_date))),
    ]
    found = [day for day in days if day is not None]
    return max(found) if found else None


def pace_day(session: Session, period: Period, today: date) -> date | None:
    """Return the day ``period`` is judged on (see the module); None before it begins."""
    if today < period.start:
        return None
    if today > period.end:
        return period.end
    last = last_data_day(session)
    if last is None or last >= today:
        return today
    return max(last, period.start)


def _fraction_day(period: Period, fraction: float) -> date:
    """Return the last day of ``period`` by which ``fraction`` of its days have passed."""
    days = max(1, round(fraction * period.days))
    return period.start + timedelta(days=days - 1)


# --- seasonality profiles ----------------------------------------------------------------


@dataclass
class Profile:
    """Per seller, what of earlier periods' events came by the pace day's point of them."""

    reached: dict[int, float]
    total: dict[int, float]
    events: dict[int, int]


def event_profile(
    session: Session, source: EventSource, earlier: list[Period], fraction: float
) -> Profile:
    """Return per seller the events of ``earlier`` periods up to the point ``fraction`` of
    each (the day by which that share of its days had passed), and in all of each."""
    profile = Profile(defaultdict(float), defaultdict(float), defaultdict(int))
    for period in earlier:
        cutoff = _fraction_day(period, fraction)
        if source.kind in ("won", "created"):
            day = Deal.close_date if source.kind == "won" else Deal.created_date
            weight = Deal.amount_cents / 100.0 if source.amounts else 1
            conditions: list[ColumnElement[bool]] = [day.between(period.start, period.end)]
            if source.kind == "won":
                conditions.append(Deal.status == "won")
            query = (
                select(
                    Deal.seller_id,
                    func.sum(case((day <= cutoff, weight), else_=0)),
                    func.sum(weight),
                    func.count(),
                )
                .where(*conditions)
                .group_by(Deal.seller_id)
            )
        else:
            query = (
                select(
                    Activity.seller_id,
                    func.sum(case((Activity.occurred_on <= cutoff, 1), else_=0)),
                    func.count(),
                    func.count(),
                )
                .where(
                    Activity.type == source.kind,
                    Activity.occurred_on.between(period.start, period.end),
                )
                .group_by(Activity.seller_id)
            )
        for seller_id, reached, total, count in session.execute(query):
            profile.reached[seller_id] += float(reached or 0)
            profile.total[seller_id] += float(total or 0)
            profile.events[seller_id] += int(count or 0)
    return profile


@dataclass(frozen=True)
class Share:
    """The share of a period's value normally reached by the pace day, and whence."""

    value: float
    method: str  # "seller", "unit" or "linear"
    events: int


def share_of(profile: Profile | None, members: list[int], own: int | None, linear: float) -> Share:
    """Return the seller's own share (``own``), else the pooled share of ``members``."""
    if profile is not None:
        if own is not None:
            events = profile.events.get(own, 0)
            total = profile.total.get(own, 0.0)
            if events >= MIN_PROFILE_EVENTS and total > 0:
                return Share(profile.reached.get(own, 0.0) / total, "seller", events)
        events = sum(profile.events.get(member, 0) for member in members)
        total = sum(profile.total.get(member, 0.0) for member in members)
        if events >= MIN_PROFILE_EVENTS and total > 0:
            reached = sum(profile.reached.get(member, 0.0) for member in members)
            return Share(reached / total, "unit", events)
    return Share(linear, "linear", 0)


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
    base["energy"] = team_energy_warnings(session, book, day, team_members, units, field)
    energy_rule = _energy_rule(session, versions, day)
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
            targets = [
                own.target if own.target is not None else version.target
                for lines in seller_lines.values()
                for own in lines
                if own.kpi_id == kpi.id
            ]
            present = [target for target in targets if target is not None]
            if not present:
                target = line.target if line.target is not None else version.target
            elif kpi.time_aggregation == TimeAggregation.SUM:
                target = float(sum(present))
            else:
                target = float(sum(present) / len(present))
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


# --- team energy against activity demands ----------------------------------------------


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


def _energy_rule(session: Session, versions: Versions, day: date) -> str:
    kpi_id = session.scalar(select(Kpi.id).where(Kpi.code == ENERGY_KPI))
    if kpi_id is None:
        return ""
    try:
        return versions.in_force(kpi_id, day).decision_rule
    except LookupError:
        return ""


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
