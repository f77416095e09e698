"""The weekly pulse and the team energy index.

Every week a seller answers three questions from the dashboard (motivation, energy,
pride in the product, 1-5) and may leave a comment: under a minute. A unit's energy
index is the mean energy of its sellers' answers per week, shown only for weeks with
at least three answers (no one's answer stands out), with its trend over the last
quarter (a Theil-Sen slope and its 90 % interval): falling when the whole interval is
below zero. Next to it stand the activity demands on the team: the activities it
records per week and the activity targets on its sellers' cards per month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy import stats
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.policy import Actor, UnitTree
from touchline.config import get_settings
from touchline.crm.models import Activity, PulseAnswer
from touchline.db import utcnow
from touchline.errors import Forbidden, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import sync_builtin_kpis
from touchline.kpis.compute import ANONYMITY_MINIMUM, company_today
from touchline.kpis.metrics import Level
from touchline.kpis.models import TimeAggregation
from touchline.kpis.scorecards import CardBook, scaled_target
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodKind, period_containing
from touchline.ratings.models import Origin
from touchline.ratings.refreshing import refresh_spans

QUESTIONS = ("motivation", "energy", "pride")
TREND_WEEKS = 13
SHOWN_WEEKS = 26
TREND_CONFIDENCE = 0.90


def _week_of(day: date) -> Period:
    return period_containing(
        day, PeriodKind.WEEK, fiscal_start_month=get_settings().fiscal_year_start_month
    )


def current_week() -> Period:
    """Return the ISO week running today in the company's time zone."""
    return _week_of(company_today())


def answer_of_week(session: Session, *, seller_id: int, week: Period) -> PulseAnswer | None:
    """Return the seller's answer for ``week``, or None."""
    return session.scalar(
        select(PulseAnswer).where(
            PulseAnswer.seller_id == seller_id, PulseAnswer.week == week.label
        )
    )


def answer_pulse(
    session: Session,
    *,
    actor: Actor,
    motivation: int | None,
    energy: int | None,
    pride: int | None,
    comment: str = "",
) -> PulseAnswer:
    """Store the actor's own pulse for this week (a second answer the same week replaces
    the first) and recompute the periods of the week.

    Only a seller answers, for themself. Refuses a missing answer and one outside 1-5.
    """
    if actor.own_seller_id is None:
        raise Forbidden(_("Only sellers answer the pulse, for themselves."))
    values = {"motivation": motivation, "energy": energy, "pride": pride}
    for name, value in values.items():
        if value is None:
            raise InvalidInput(_("Answer every question of the pulse."), field=name)
        if not 1 <= value <= 5:
            raise InvalidInput(
                _("%(value)s is off the scale: answer 1 to 5.", value=value), field=name
            )
    week = current_week()
    answer = answer_of_week(session, seller_id=actor.own_seller_id, week=week)
    if answer is None:
        answer = PulseAnswer(seller_id=actor.own_seller_id, week=week.label)
        session.add(answer)
    answer.motivation = int(values["motivation"] or 0)
    answer.energy = int(values["energy"] or 0)
    answer.pride = int(values["pride"] or 0)
    answer.comment = comment.strip()[:5000] or None
    answer.origin = Origin.APP
    answer.answered_at = utcnow()
    # Who answered which week, not what: the pulse is the seller's own to tell.
    audit.record(session, actor=actor.user, action="answer", entity="pulse", entity_id=week.label)
    session.flush()
    refresh_spans(session, spans=[(week.start, week.start)], trigger="pulse")
    return answer


@dataclass
class EnergyIndex:
    """A unit's weekly energy, its trend, and the activity demands next to it."""

    unit: Unit
    weeks: list[str]
    energy: list[float | None]  # None: fewer than three answers that week
    answers: list[int]
    activities: list[int]
    slope: float | None = None  # energy points per week over the last quarter
    slope_low: float | None = None
    slope_high: float | None = None
    # The activity-level targets on the sellers' cards per month: (month, sum).
    targets: list[tuple[str, float]] = field(default_factory=list)

    @property
    def falling(self) -> bool:
        """True when the whole interval of the trend is below zero."""
        return self.slope_high is not None and self.slope_high < 0

    @property
    def latest(self) -> float | None:
        shown = [value for value in self.energy if value is not None]
        return shown[-1] if shown else None

    @property
    def demands_rising(self) -> bool:
        """True when the activity targets rose over the months shown."""
        sums = [total for _month, total in self.targets if total > 0]
        return len(sums) >= 2 and sums[-1] > sums[0] * 1.02


def team_energy(
    session: Session, *, actor: Actor, unit: Unit, today: date | None = None
) -> EnergyIndex:
    """Return the energy index of ``unit`` (its sellers and those below) for the last
    26 weeks; refuses a unit the actor may not see."""
    if not actor.can_see_unit(unit.id):
        raise NotFound(_("There is no unit %(id)s that you may see.", id=unit.external_id))
    today = today or company_today()
    last = _week_of(today)
    weeks = [last]
    while len(weeks) < SHOWN_WEEKS:
        weeks.insert(0, weeks[0].previous())
    below = sorted(UnitTree.load(session).subtree(unit.id))
    seller_ids = select(Seller.id).where(Seller.unit_id.in_(below))
    answered = {
        week: (float(total), int(count))
        for week, total, count in session.execute(
            select(PulseAnswer.week, func.sum(PulseAnswer.energy), func.count())
            .where(
                PulseAnswer.seller_id.in_(seller_ids),
                PulseAnswer.week.in_([week.label for week in weeks]),
            )
            .group_by(PulseAnswer.week)
        )
    }
    by_day = dict(
        session.execute(
            select(Activity.occurred_on, func.count())
            .where(
                Activity.seller_id.in_(seller_ids),
                Activity.occurred_on.between(weeks[0].start, weeks[-1].end),
            )
            .group_by(Activity.occurred_on)
        ).all()
    )
    energy: list[float | None] = []
    answers: list[int] = []
    activities: list[int] = []
    for week in weeks:
        total, count = answered.get(week.label, (0.0, 0))
        answers.append(count)
        energy.append(total / count if count >= ANONYMITY_MINIMUM else None)
        activities.append(
            sum(int(by_day.get(week.start + timedelta(days=offset), 0)) for offset in range(7))
        )
    index = EnergyIndex(
        unit=unit,
        weeks=[week.label for week in weeks],
        energy=energy,
        answers=answers,
        activities=activities,
    )
    recent = [(i, value) for i, value in enumerate(energy[-TREND_WEEKS:]) if value is not None]
    if len(recent) >= 4:
        x = np.array([i for i, _value in recent], dtype=float)
        y = np.array([value for _i, value in recent], dtype=float)
        fit = stats.theilslopes(y, x, alpha=TREND_CONFIDENCE)
        index.slope, index.slope_low, index.slope_high = (
            float(fit.slope),
            float(fit.low_slope),
            float(fit.high_slope),
        )
    index.targets = activity_targets(session, unit=unit, today=today)
    return index


def activity_targets(
    session: Session, *, unit: Unit, today: date, months: int = 6
) -> list[tuple[str, float]]:
    """Return, for the last ``months`` months, the sum of the activity-level targets (of
    KPIs that add up over time) on the cards of the unit's active sellers."""
    below = sorted(UnitTree.load(session).subtree(unit.id))
    sellers = list(
        session.scalars(
            select(Seller).where(Seller.unit_id.in_(below), Seller.active).order_by(Seller.id)
        )
    )
    start_month = get_settings().fiscal_year_start_month
    month = period_containing(today, PeriodKind.MONTH, fiscal_start_month=start_month)
    chosen = [month]
    while len(chosen) < months:
        chosen.insert(0, chosen[0].previous())
    # The cards' targets only (no values): one book of lines for every month.
    sync_builtin_kpis(session)
    book = CardBook(session, sellers)
    found = []
    for period in chosen:
        total = 0.0
        for seller in sellers:
            for line in book.lines_of(seller, period.start):
                kpi = book.kpis[line.kpi_id]
                if kpi.level != Level.ACTIVITY or kpi.time_aggregation != TimeAggregation.SUM:
                    continue
                version = book.versions.in_force(kpi.id, period.start)
                target = line.target if line.target is not None else version.target
                scaled = scaled_target(target, kpi, period)
                if scaled is not None:
                    total += scaled
        found.append((period.label, total))
    return found


def units_to_watch(session: Session, *, actor: Actor) -> list[EnergyIndex]:
    """Return the energy index of each team the actor manages, falling ones first."""
    if not actor.managed_unit_ids:
        return []
    teams = list(
        session.scalars(
            select(Unit)
            .where(Unit.id.in_(sorted(actor.managed_unit_ids)), Unit.manager_id.is_not(None))
            .order_by(Unit.name)
        )
    )
    own = [team for team in teams if team.manager_id == actor.own_seller_id] or teams[:1]
    found = [team_energy(session, actor=actor, unit=team) for team in own]
    return sorted(found, key=lambda index: (not index.falling, index.unit.name))
