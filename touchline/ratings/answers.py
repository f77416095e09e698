"""Answering a survey link, and the seller's prediction of a customer's score.

A link is answered once. The claim on it is a single conditional update (``answered_at``
set only where it is still empty), so two answers sent at the same moment store exactly
one; the other is told the link was used. A forged, reissued, expired or used link, a
closed campaign, an empty required answer and a score off the scale each get a clear
message, and nothing is stored. The page never tells who else answered, or what.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor
from touchline.config import get_settings
from touchline.crm.models import CustomerSurveyResponse, RatingRecord
from touchline.db import utcnow
from touchline.errors import Conflict, DomainError, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.org.models import Seller
from touchline.org.periods import parse_period
from touchline.ratings.campaigns import token_hash
from touchline.ratings.models import (
    CampaignKind,
    Origin,
    RoundStatus,
    SurveyCampaign,
    SurveyInvitation,
)
from touchline.ratings.refreshing import refresh_spans
from touchline.ratings.scales import RatedKpi, check_score, rated_kpis

SCORE_RANGE = (0, 10)


class LinkState(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    ANSWERED = "answered"
    CLOSED = "closed"


class SurveyLinkError(DomainError):
    """A link that cannot be answered (any more), and why, in the rater's words."""

    status_code = 410

    def __init__(self, state: LinkState) -> None:
        messages = {
            LinkState.UNKNOWN: _(
                "This survey link is not valid. It may have been mistyped, or replaced by a "
                "newer one: please use the link in your latest invitation."
            ),
            LinkState.EXPIRED: _("This survey has ended. Thank you for your interest."),
            LinkState.ANSWERED: _("This survey has been answered already. Thank you!"),
            LinkState.CLOSED: _("This survey is closed. Thank you for your interest."),
        }
        super().__init__(messages[state])
        self.state = state
        if state is LinkState.UNKNOWN:
            self.status_code = 404


@dataclass
class SurveyForm:
    """What a rater sees: whom they rate, the questions, in their language."""

    invitation: SurveyInvitation
    campaign: SurveyCampaign
    seller_name: str
    kpis: list[RatedKpi]

    @property
    def asks_score(self) -> bool:
        return self.campaign.ask_score

    @property
    def kind(self) -> str:
        return self.campaign.kind


def _state_of(
    invitation: SurveyInvitation | None, campaign: SurveyCampaign | None
) -> LinkState | None:
    if invitation is None or campaign is None:
        return LinkState.UNKNOWN
    if invitation.answered_at is not None:
        return LinkState.ANSWERED
    if campaign.status != RoundStatus.OPEN:
        return LinkState.CLOSED
    if campaign.expires_at <= utcnow():
        return LinkState.EXPIRED
    return None


def _find(session: Session, token: str) -> tuple[SurveyInvitation | None, SurveyCampaign | None]:
    invitation = session.scalar(
        select(SurveyInvitation).where(SurveyInvitation.token_hash == token_hash(token))
    )
    campaign = session.get(SurveyCampaign, invitation.campaign_id) if invitation else None
    return invitation, campaign


def link_language(session: Session, *, token: str) -> str | None:
    """Return the language of the invitation behind a link, or None for an unknown link."""
    invitation, _campaign = _find(session, token)
    return invitation.language if invitation is not None else None


def survey_form(session: Session, *, token: str) -> SurveyForm:
    """Return the form behind a link; refuses a link that cannot be answered."""
    invitation, campaign = _find(session, token)
    state = _state_of(invitation, campaign)
    if state is not None:
        raise SurveyLinkError(state)
    assert invitation is not None
    assert campaign is not None
    seller = session.get(Seller, invitation.seller_id)
    return SurveyForm(
        invitation=invitation,
        campaign=campaign,
        seller_name=seller.name if seller else "",
        kpis=rated_kpis(session, campaign.kpi_codes),
    )


def answer_survey(
    session: Session,
    *,
    token: str,
    score: int | None,
    ratings: dict[str, float | None],
    comment: str = "",
) -> None:
    """Store the answer behind a link, once: the overall score (customers) as a customer
    survey answer, each KPI as an anonymous rating of the seller by the campaign's kind
    of rater, for the campaign's period. The periods they count in are recomputed."""
    form = survey_form(session, token=token)
    campaign, invitation = form.campaign, form.invitation
    if form.asks_score:
        if score is None:
            raise InvalidInput(_("Please give your overall score from 0 to 10."), field="score")
        if not SCORE_RANGE[0] <= score <= SCORE_RANGE[1]:
            raise InvalidInput(
                _("%(value)s is off the scale: give 0 to 10.", value=score), field="score"
            )
    checked: dict[str, float] = {}
    for item in form.kpis:
        value = ratings.get(item.kpi.code)
        if value is None:
            raise InvalidInput(
                _("Please answer every question: %(kpi)s is missing.", kpi=item.name),
                field=f"score_{item.kpi.code}",
            )
        checked[item.kpi.code] = check_score(item, float(value), field=f"score_{item.kpi.code}")
    now = utcnow()
    try:
        result = session.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.id == invitation.id, SurveyInvitation.answered_at.is_(None))
            .values(answered_at=now)
            .execution_options(synchronize_session=False)
        )
        claimed = getattr(result, "rowcount", 0)
    except OperationalError:
        # SQLite: another answer to this link is being written at this very moment.
        raise Conflict(_("This survey has been answered already. Thank you!")) from None
    if claimed != 1:
        raise SurveyLinkError(LinkState.ANSWERED)
    text = comment.strip()[:5000] or None
    answered_on = now.astimezone(ZoneInfo(get_settings().timezone)).date()
    if form.asks_score and invitation.account_id is not None and score is not None:
        session.add(
            CustomerSurveyResponse(
                external_id=None,
                account_id=invitation.account_id,
                seller_id=invitation.seller_id,
                customer_status=invitation.customer_status or "existing",
                answered_date=answered_on,
                score=score,
                seller_predicted_score=invitation.predicted_score,
                comment=text,
                origin=Origin.LINK,
                invitation_id=invitation.id,
            )
        )
    for code, value in checked.items():
        session.add(
            RatingRecord(
                external_id=None,
                kpi=code,
                seller_id=invitation.seller_id,
                rater_role=campaign.kind,
                period=campaign.period,
                score=value,
                rater_id=None,
                # The comment goes with the overall score where there is one, else once.
                comment=text if not form.asks_score and code == next(iter(checked)) else None,
                origin=Origin.LINK,
                hidden=False,
                invitation_id=invitation.id,
                created_at=now,
            )
        )
    session.flush()
    period = parse_period(
        campaign.period, fiscal_start_month=get_settings().fiscal_year_start_month
    )
    refresh_spans(
        session,
        spans=[(period.start, period.end), (answered_on, answered_on)],
        trigger="survey",
    )


def predict_score(
    session: Session, *, actor: Actor, invitation_id: int, predicted: int | None
) -> SurveyInvitation:
    """Store the seller's guess of what a customer will answer (0-10), until the customer
    has answered. Only the seller the invitation is about may predict."""
    invitation = session.get(SurveyInvitation, invitation_id)
    if invitation is None or invitation.seller_id != actor.own_seller_id:
        raise NotFound(_("There is no survey invitation %(id)s of yours.", id=invitation_id))
    campaign = session.get(SurveyCampaign, invitation.campaign_id)
    assert campaign is not None
    if campaign.kind != CampaignKind.CUSTOMER or not campaign.ask_score:
        raise InvalidInput(_("Only a customer's overall score is predicted."), field="predicted")
    if invitation.answered_at is not None:
        raise Conflict(_("The customer has answered: the prediction is final."))
    if predicted is not None and not SCORE_RANGE[0] <= predicted <= SCORE_RANGE[1]:
        raise InvalidInput(
            _("%(value)s is off the scale: give 0 to 10.", value=predicted), field="predicted"
        )
    invitation.predicted_score = predicted
    session.flush()
    return invitation
