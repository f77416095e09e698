"""Seller surveys on the Foundation: do the sellers have the tools, the time, the
knowledge and the resources to sell?

A manager or leader asks the sellers of a unit; each answers once, from the dashboard.
The answers are the sellers' own ratings of the Foundation KPIs for the survey's period,
so they show on every card with a Foundation KPI and in the capacity signal. The unit's
results are shown from three answers up.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role
from touchline.auth.policy import Actor, UnitTree
from touchline.config import get_settings
from touchline.crm.models import RatingRecord
from touchline.db import utcnow
from touchline.errors import Conflict, Forbidden, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.builtin import FOUNDATION_SURVEY_KPIS
from touchline.kpis.compute import ANONYMITY_MINIMUM
from touchline.org.models import Seller, Unit
from touchline.org.periods import PeriodError, parse_period
from touchline.ratings.models import Origin, RoundStatus, SellerSurvey, SellerSurveyAnswer
from touchline.ratings.refreshing import refresh_spans
from touchline.ratings.scales import RatedKpi, check_score, rated_kpis

FOUNDATION_CODES = [kpi.code for kpi in FOUNDATION_SURVEY_KPIS]


def create_seller_survey(
    session: Session,
    *,
    actor: Actor,
    name: str,
    period: str,
    unit: Unit,
    kpi_codes: list[str] | None = None,
) -> SellerSurvey:
    """Ask the sellers of ``unit`` about their Foundation for ``period``.

    Managers of the unit and leaders. Refuses a blank name, a bad period and a KPI that
    is not rated on a scale.
    """
    if not (actor.at_least(Role.MANAGER) and actor.can_manage_unit(unit.id)):
        raise Forbidden(_("You may not survey the sellers of this unit."))
    if not name.strip():
        raise InvalidInput(_("A survey needs a name."), field="name")
    try:
        chosen = parse_period(period, fiscal_start_month=get_settings().fiscal_year_start_month)
    except PeriodError as error:
        raise InvalidInput(str(error), field="period") from None
    codes = [item.kpi.code for item in rated_kpis(session, kpi_codes or FOUNDATION_CODES)]
    survey = SellerSurvey(
        name=name.strip(),
        period=chosen.label,
        unit_id=unit.id,
        kpi_codes=codes,
        status=RoundStatus.OPEN,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(survey)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="seller_survey",
        entity_id=str(survey.id),
        after={"name": survey.name, "period": survey.period, "kpis": codes},
    )
    return survey


def _seller_of(session: Session, actor: Actor) -> Seller | None:
    return session.get(Seller, actor.own_seller_id) if actor.own_seller_id else None


def surveys_waiting(session: Session, *, actor: Actor) -> list[SellerSurvey]:
    """Return the open seller surveys that ask the actor and that they have not answered."""
    seller = _seller_of(session, actor)
    if seller is None:
        return []
    chain = UnitTree.load(session).chain(seller.unit_id)
    answered = select(SellerSurveyAnswer.survey_id).where(SellerSurveyAnswer.seller_id == seller.id)
    return list(
        session.scalars(
            select(SellerSurvey)
            .where(
                SellerSurvey.status == RoundStatus.OPEN,
                SellerSurvey.unit_id.in_(chain),
                SellerSurvey.id.not_in(answered),
            )
            .order_by(SellerSurvey.created_at)
        )
    )


def get_seller_survey(session: Session, *, actor: Actor, survey_id: int) -> SellerSurvey:
    """Return the survey if it asks the actor or the actor manages its unit."""
    survey = session.get(SellerSurvey, survey_id)
    if survey is not None:
        if actor.can_manage_unit(survey.unit_id):
            return survey
        seller = _seller_of(session, actor)
        if seller is not None and survey.unit_id in UnitTree.load(session).chain(seller.unit_id):
            return survey
    raise NotFound(_("There is no seller survey %(id)s that you may see.", id=survey_id))


def survey_questions(session: Session, survey: SellerSurvey) -> list[RatedKpi]:
    return rated_kpis(session, survey.kpi_codes)


def answer_seller_survey(
    session: Session, *, actor: Actor, survey: SellerSurvey, scores: dict[str, float | None]
) -> None:
    """Store the actor's answer: their own rating of each Foundation KPI of the survey.

    Once per seller. Refuses a closed survey, a second answer, an unanswered question and
    a score off the scale; nothing is stored then.
    """
    seller = _seller_of(session, actor)
    if seller is None or survey.unit_id not in UnitTree.load(session).chain(seller.unit_id):
        raise NotFound(_("There is no seller survey %(id)s that you may see.", id=survey.id))
    if survey.status != RoundStatus.OPEN:
        raise Conflict(_("This survey is closed."))
    checked: dict[str, float] = {}
    for item in survey_questions(session, survey):
        value = scores.get(item.kpi.code)
        if value is None:
            raise InvalidInput(
                _("Please answer every question: %(kpi)s is missing.", kpi=item.name),
                field=f"score_{item.kpi.code}",
            )
        checked[item.kpi.code] = check_score(item, float(value), field=f"score_{item.kpi.code}")
    try:
        with session.begin_nested():
            session.add(SellerSurveyAnswer(survey_id=survey.id, seller_id=seller.id))
            session.flush()
    except IntegrityError:
        raise Conflict(_("You have answered this survey already. Thank you!")) from None
    now = utcnow()
    for code, value in checked.items():
        session.add(
            RatingRecord(
                external_id=None,
                kpi=code,
                seller_id=seller.id,
                rater_role="self",
                period=survey.period,
                score=value,
                rater_id=seller.external_id,
                origin=Origin.SURVEY,
                hidden=False,
                rater_user_id=actor.user.id if actor.user else None,
                created_at=now,
            )
        )
    session.flush()
    period = parse_period(survey.period, fiscal_start_month=get_settings().fiscal_year_start_month)
    refresh_spans(session, spans=[(period.start, period.end)], trigger="seller survey")


@dataclass
class SurveyResults:
    """How many sellers answered, and the mean answer per KPI (from three answers)."""

    survey: SellerSurvey
    asked: int
    answered: int
    means: list[tuple[RatedKpi, float | None]]


def survey_results(session: Session, *, actor: Actor, survey: SellerSurvey) -> SurveyResults:
    """Return the survey's results for its unit; managers of the unit and leaders."""
    if not actor.can_manage_unit(survey.unit_id):
        raise Forbidden(_("Only the unit's managers see the survey's results."))
    below = sorted(UnitTree.load(session).subtree(survey.unit_id))
    asked = int(
        session.scalar(
            select(func.count()).select_from(Seller).where(Seller.unit_id.in_(below), Seller.active)
        )
        or 0
    )
    answered = int(
        session.scalar(
            select(func.count())
            .select_from(SellerSurveyAnswer)
            .where(SellerSurveyAnswer.survey_id == survey.id)
        )
        or 0
    )
    respondents = select(SellerSurveyAnswer.seller_id).where(
        SellerSurveyAnswer.survey_id == survey.id
    )
    means: dict[str, float] = dict(
        session.execute(
            select(RatingRecord.kpi, func.avg(RatingRecord.score))
            .where(
                RatingRecord.origin == Origin.SURVEY,
                RatingRecord.period == survey.period,
                RatingRecord.seller_id.in_(respondents),
                RatingRecord.kpi.in_(survey.kpi_codes),
            )
            .group_by(RatingRecord.kpi)
        ).all()
    )
    enough = answered >= ANONYMITY_MINIMUM
    return SurveyResults(
        survey,
        asked,
        answered,
        [
            (item, float(means[item.kpi.code]) if enough and item.kpi.code in means else None)
            for item in survey_questions(session, survey)
        ],
    )


def close_seller_survey(session: Session, *, actor: Actor, survey: SellerSurvey) -> None:
    """Close the survey; the answers given stay."""
    if not actor.can_manage_unit(survey.unit_id):
        raise Forbidden(_("You may not survey the sellers of this unit."))
    survey.status = RoundStatus.CLOSED
    audit.record(
        session, actor=actor.user, action="close", entity="seller_survey", entity_id=str(survey.id)
    )
    session.flush()
