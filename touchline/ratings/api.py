"""JSON routes of the soft KPIs: scales, rating rounds, survey campaigns and links, the
pulse, team energy, perception gaps and calibration."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from touchline.deps import Db, LeaderUp, ManagerUp, Public, SignedIn
from touchline.kpis.service import chosen_period
from touchline.org import service as org
from touchline.org.models import Seller, Unit
from touchline.ratings import (
    answers,
    campaigns,
    mail,
    perception,
    pulse,
    rounds,
    scales,
    seller_surveys,
)
from touchline.ratings.models import SellerSurvey, SurveyCampaign
from touchline.ratings.schemas import (
    AgreementRead,
    AnchorRead,
    CalibrationRead,
    CampaignCreate,
    CampaignRead,
    ContactsIn,
    EnergyRead,
    GapRead,
    KpiScaleIn,
    LeniencyRead,
    LinkRead,
    LinksRead,
    PerceptionRead,
    PredictionIn,
    PulseIn,
    PulseRead,
    RatedKpiRead,
    RoundCreate,
    RoundRatingIn,
    RoundRead,
    RoundSellerRead,
    ScaleRead,
    ScalesRead,
    SellerSurveyAnswerIn,
    SellerSurveyCreate,
    SellerSurveyRead,
    SellerSurveyResultsRead,
    SurveyAnswerIn,
    SurveyRead,
    TrackingRead,
)

router = APIRouter(prefix="/api/v1", tags=["ratings"])


def rated_read(item: scales.RatedKpi) -> RatedKpiRead:
    return RatedKpiRead(
        kpi=item.kpi.code,
        name=item.name,
        scale=item.scale.code,
        minimum=item.scale.minimum,
        maximum=item.scale.maximum,
        step=item.scale.step,
        anchors=[AnchorRead(point=a.point, text=a.text) for a in item.anchors],
    )


@router.get("/rating-scales")
def list_scales(db: Db, actor: SignedIn) -> ScalesRead:
    """The scales and every rated KPI with its scale and behavioural anchors."""
    return ScalesRead(
        scales=[
            ScaleRead(
                code=scale.code,
                name=scale.name,
                minimum=scale.minimum,
                maximum=scale.maximum,
                step=scale.step,
            )
            for scale in scales.list_scales(db)
        ],
        kpis=[rated_read(item) for item in scales.rated_kpis(db)],
    )


@router.put("/rating-scales/kpis/{code}")
def set_kpi_scale(db: Db, actor: LeaderUp, code: str, scale_in: KpiScaleIn) -> RatedKpiRead:
    return rated_read(
        scales.set_kpi_scale(
            db,
            actor=actor,
            kpi_code=code,
            scale_code=scale_in.scale,
            anchors=scale_in.anchors,
            translations=scale_in.translations,
        )
    )


def round_read(view: rounds.RoundView) -> RoundRead:
    return RoundRead(
        id=view.round.id,
        name=view.round.name,
        period=view.round.period,
        unit=view.unit.external_id,
        status=view.round.status,
        due_date=view.round.due_date,
        kpis=[rated_read(item) for item in view.kpis],
        sellers=[
            RoundSellerRead(
                seller=line.seller.external_id,
                name=line.seller.name,
                self_submitted=line.self_submitted,
                manager_submitted=line.manager_submitted,
                revealed=line.revealed,
                self_scores=line.self_scores,
                manager_scores=line.manager_scores,
                gaps={
                    item.kpi.code: gap
                    for item in view.kpis
                    if (gap := line.gap(item.kpi.code)) is not None
                },
            )
            for line in view.sellers
        ],
    )


@router.get("/rating-rounds")
def list_rounds(db: Db, actor: SignedIn) -> list[RoundRead]:
    return [
        round_read(rounds.round_view(db, actor=actor, rating_round=item))
        for item in rounds.visible_rounds(db, actor=actor)
    ]


@router.post("/rating-rounds", status_code=201)
def create_round(db: Db, actor: ManagerUp, round_in: RoundCreate) -> RoundRead:
    created = rounds.create_round(
        db,
        actor=actor,
        name=round_in.name,
        period=round_in.period,
        unit=org.get_unit(db, actor=actor, external_id=round_in.unit),
        kpi_codes=round_in.kpis,
        due_date=round_in.due_date,
    )
    return round_read(rounds.round_view(db, actor=actor, rating_round=created))


@router.get("/rating-rounds/{round_id}")
def get_round(db: Db, actor: SignedIn, round_id: int) -> RoundRead:
    found = rounds.get_round(db, actor=actor, round_id=round_id)
    return round_read(rounds.round_view(db, actor=actor, rating_round=found))


@router.post("/rating-rounds/{round_id}/ratings")
def rate_in_round(db: Db, actor: SignedIn, round_id: int, rating_in: RoundRatingIn) -> RoundRead:
    """The actor's self-rating, or their rating as the seller's manager."""
    found = rounds.get_round(db, actor=actor, round_id=round_id)
    rounds.submit_ratings(
        db,
        actor=actor,
        rating_round=found,
        seller=org.get_seller(db, actor=actor, external_id=rating_in.seller),
        scores=rating_in.scores,
        comments=rating_in.comments,
    )
    return round_read(rounds.round_view(db, actor=actor, rating_round=found))


@router.post("/rating-rounds/{round_id}/close")
def close_round(db: Db, actor: ManagerUp, round_id: int) -> RoundRead:
    found = rounds.get_round(db, actor=actor, round_id=round_id)
    rounds.close_round(db, actor=actor, rating_round=found)
    return round_read(rounds.round_view(db, actor=actor, rating_round=found))


@router.post("/pulse")
def answer_pulse(db: Db, actor: SignedIn, pulse_in: PulseIn) -> PulseRead:
    """This week's pulse of the signed-in seller (answering again replaces it)."""
    answer = pulse.answer_pulse(
        db,
        actor=actor,
        motivation=pulse_in.motivation,
        energy=pulse_in.energy,
        pride=pulse_in.pride,
        comment=pulse_in.comment,
    )
    return PulseRead(
        week=answer.week,
        motivation=answer.motivation,
        energy=answer.energy,
        pride=answer.pride,
        comment=answer.comment,
    )


@router.get("/units/{external_id}/energy")
def unit_energy(db: Db, actor: SignedIn, external_id: str) -> EnergyRead:
    """The unit's weekly energy index (weeks under three answers empty), its trend, and
    the activity demands next to it."""
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    index = pulse.team_energy(db, actor=actor, unit=unit)
    return EnergyRead(
        unit=unit.external_id,
        weeks=index.weeks,
        energy=index.energy,
        answers=index.answers,
        activities=index.activities,
        slope=index.slope,
        slope_low=index.slope_low,
        slope_high=index.slope_high,
        falling=index.falling,
        activity_targets=index.targets,
        targets_rising=index.demands_rising,
    )


@router.get("/sellers/{external_id}/perception")
def seller_perception(
    db: Db, actor: SignedIn, external_id: str, period: str | None = None
) -> PerceptionRead:
    """Self against manager, peers, customers and mystery shoppers per soft KPI, and the
    seller's predicted customer score against the real one."""
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    found = perception.seller_perception(
        db, actor=actor, seller=seller, period=chosen_period(period)
    )
    return PerceptionRead(
        seller=seller.external_id,
        period=found.period.label,
        gaps=[
            GapRead(
                kpi=gap.kpi_code,
                name=gap.kpi_name,
                self=gap.self_score,
                manager=gap.manager_score,
                peer=gap.peer_score,
                customer=gap.customer_score,
                mystery_shopper=gap.mystery_shopper_score,
                peer_answers=gap.peer_answers,
                customer_answers=gap.customer_answers,
            )
            for gap in found.gaps
        ],
        self_above_others=found.self_above_others,
        predicted_customer_score=found.predicted,
        actual_customer_score=found.actual,
        paired_answers=found.paired_answers,
        customer_answers=found.customer_answers,
    )


@router.get("/ratings/calibration")
def get_calibration(db: Db, actor: ManagerUp, period: str | None = None) -> CalibrationRead:
    found = perception.calibration(db, actor=actor, period=chosen_period(period))
    return CalibrationRead(
        period=found.period.label,
        raters=[
            LeniencyRead(
                rater=item.rater,
                name=item.name,
                role=item.role,
                ratings=item.ratings,
                sellers=item.sellers,
                mean=item.mean,
                company_mean=item.company_mean,
                difference=item.difference,
            )
            for item in found.raters
        ],
        agreement=[
            AgreementRead(
                kpi=item.kpi.code,
                name=item.name,
                icc=item.icc,
                reading=item.reading,
                sellers=item.sellers,
                ratings=item.ratings,
            )
            for item in found.agreement
        ],
    )


def campaign_read(db: Db, view: campaigns.CampaignView) -> CampaignRead:
    invited, sent, answered = view.totals
    return CampaignRead(
        id=view.campaign.id,
        name=view.campaign.name,
        kind=view.campaign.kind,
        period=view.campaign.period,
        unit=view.unit.external_id,
        status=view.campaign.status,
        customer_status=view.campaign.customer_status,
        kpis=view.campaign.kpi_codes,
        ask_score=view.campaign.ask_score,
        expires_at=view.campaign.expires_at,
        invited=invited,
        sent=sent,
        answered=answered,
        sellers=[
            TrackingRead(
                seller=item.seller.external_id,
                name=item.seller.name,
                invited=item.invited,
                sent=item.sent,
                answered=item.answered,
            )
            for item in view.sellers
        ],
    )


def links_read(db: Db, links: list[campaigns.IssuedLink]) -> list[LinkRead]:
    ids = {link.invitation.seller_id for link in links}
    external = dict(
        db.execute(select(Seller.id, Seller.external_id).where(Seller.id.in_(ids))).all()
    )
    return [
        LinkRead(
            invitation=link.invitation.id,
            seller=external.get(link.invitation.seller_id, ""),
            contact_name=link.invitation.contact_name,
            email=link.invitation.contact_email,
            url=link.url,
        )
        for link in links
    ]


def company_name(db: Db) -> str:
    """The name survey e-mails sign with: the top unit's."""
    roots = list(db.scalars(select(Unit.name).where(Unit.parent_id.is_(None))))
    return roots[0] if len(roots) == 1 else "Touchline"


@router.get("/survey-campaigns")
def list_campaigns(db: Db, actor: ManagerUp) -> list[CampaignRead]:
    return [
        campaign_read(db, campaigns.campaign_view(db, actor=actor, campaign=item))
        for item in campaigns.visible_campaigns(db, actor=actor)
    ]


@router.post("/survey-campaigns", status_code=201)
def create_campaign(db: Db, actor: ManagerUp, campaign_in: CampaignCreate) -> CampaignRead:
    created = campaigns.create_campaign(
        db,
        actor=actor,
        name=campaign_in.name,
        kind=campaign_in.kind,
        period=campaign_in.period,
        unit=org.get_unit(db, actor=actor, external_id=campaign_in.unit),
        kpi_codes=campaign_in.kpis,
        customer_status=campaign_in.customer_status,
        ask_score=campaign_in.ask_score,
        message=campaign_in.message,
        days=campaign_in.days,
    )
    return campaign_read(db, campaigns.campaign_view(db, actor=actor, campaign=created))


@router.get("/survey-campaigns/{campaign_id}")
def get_campaign(db: Db, actor: ManagerUp, campaign_id: int) -> CampaignRead:
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    return campaign_read(db, campaigns.campaign_view(db, actor=actor, campaign=found))


def _sent(
    db: Db, actor: ManagerUp, campaign: SurveyCampaign, links: list[campaigns.IssuedLink]
) -> LinksRead:
    result = mail.send_invitations(
        db, actor=actor, campaign=campaign, links=links, company=company_name(db)
    )
    return LinksRead(links=links_read(db, links), sent=result.sent, failed=result.failed)


@router.post("/survey-campaigns/{campaign_id}/contacts", status_code=201)
def add_contacts(db: Db, actor: ManagerUp, campaign_id: int, contacts_in: ContactsIn) -> LinksRead:
    """Invite customers or mystery shoppers; the links are in the answer, once, and are
    e-mailed too with ``send``."""
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    added = campaigns.add_contacts(
        db,
        actor=actor,
        campaign=found,
        contacts=[
            campaigns.Contact(
                line=number,
                seller=item.seller,
                name=item.contact_name,
                email=item.email.strip().lower(),
                account=item.account,
                language=item.language,
            )
            for number, item in enumerate(contacts_in.contacts, start=1)
        ],
    )
    read = _sent(db, actor, found, added.links) if contacts_in.send else None
    if read is None:
        read = LinksRead(links=links_read(db, added.links))
    read.skipped = added.skipped
    return read


@router.post("/survey-campaigns/{campaign_id}/peers", status_code=201)
def add_peers(db: Db, actor: ManagerUp, campaign_id: int, send: bool = False) -> LinksRead:
    """Invite each seller's colleagues to a peer campaign; the links come once."""
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    added = campaigns.add_peers(db, actor=actor, campaign=found)
    if send:
        return _sent(db, actor, found, added.links)
    return LinksRead(links=links_read(db, added.links))


@router.post("/survey-campaigns/{campaign_id}/links")
def reissue_links(db: Db, actor: ManagerUp, campaign_id: int, send: bool = False) -> LinksRead:
    """New links for every unanswered invitation (the old ones stop working)."""
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    links = campaigns.reissue_links(db, actor=actor, campaign=found)
    if send:
        return _sent(db, actor, found, links)
    return LinksRead(links=links_read(db, links))


@router.post("/survey-campaigns/{campaign_id}/close")
def close_campaign(db: Db, actor: ManagerUp, campaign_id: int) -> CampaignRead:
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    campaigns.close_campaign(db, actor=actor, campaign=found)
    return campaign_read(db, campaigns.campaign_view(db, actor=actor, campaign=found))


@router.put("/survey-invitations/{invitation_id}/prediction")
def predict(
    db: Db, actor: SignedIn, invitation_id: int, prediction_in: PredictionIn
) -> dict[str, object]:
    """The seller's guess of a customer's overall score, until the customer answers."""
    invitation = answers.predict_score(
        db, actor=actor, invitation_id=invitation_id, predicted=prediction_in.predicted
    )
    return {"invitation": invitation.id, "predicted": invitation.predicted_score}


@router.get("/surveys/{token}")
def survey(db: Db, _user: Public, token: str) -> SurveyRead:
    """The questions behind a single-use link (no account needed)."""
    form = answers.survey_form(db, token=token)
    return SurveyRead(
        kind=form.kind,
        seller=form.seller_name,
        ask_score=form.asks_score,
        message=form.campaign.message,
        language=form.invitation.language,
        expires_at=form.campaign.expires_at,
        questions=[rated_read(item) for item in form.kpis],
    )


@router.post("/surveys/{token}", status_code=201)
def answer(db: Db, _user: Public, token: str, answer_in: SurveyAnswerIn) -> dict[str, str]:
    """Answer the survey behind a link: once."""
    answers.answer_survey(
        db,
        token=token,
        score=answer_in.score,
        ratings=answer_in.ratings,
        comment=answer_in.comment,
    )
    return {"status": "answered"}


def seller_survey_read(db: Db, survey: SellerSurvey) -> SellerSurveyRead:
    unit = db.get(Unit, survey.unit_id)
    return SellerSurveyRead(
        id=survey.id,
        name=survey.name,
        period=survey.period,
        unit=unit.external_id if unit else "",
        status=survey.status,
        questions=[rated_read(item) for item in seller_surveys.survey_questions(db, survey)],
    )


@router.get("/seller-surveys")
def waiting_seller_surveys(db: Db, actor: SignedIn) -> list[SellerSurveyRead]:
    """The seller surveys waiting for the signed-in seller's answer."""
    return [
        seller_survey_read(db, survey) for survey in seller_surveys.surveys_waiting(db, actor=actor)
    ]


@router.post("/seller-surveys", status_code=201)
def create_seller_survey(
    db: Db, actor: ManagerUp, survey_in: SellerSurveyCreate
) -> SellerSurveyRead:
    created = seller_surveys.create_seller_survey(
        db,
        actor=actor,
        name=survey_in.name,
        period=survey_in.period,
        unit=org.get_unit(db, actor=actor, external_id=survey_in.unit),
        kpi_codes=survey_in.kpis or None,
    )
    return seller_survey_read(db, created)


@router.post("/seller-surveys/{survey_id}/answers", status_code=201)
def answer_seller_survey(
    db: Db, actor: SignedIn, survey_id: int, answer_in: SellerSurveyAnswerIn
) -> dict[str, str]:
    found = seller_surveys.get_seller_survey(db, actor=actor, survey_id=survey_id)
    seller_surveys.answer_seller_survey(db, actor=actor, survey=found, scores=answer_in.scores)
    return {"status": "answered"}


@router.get("/seller-surveys/{survey_id}/results")
def seller_survey_results(db: Db, actor: ManagerUp, survey_id: int) -> SellerSurveyResultsRead:
    found = seller_surveys.get_seller_survey(db, actor=actor, survey_id=survey_id)
    results = seller_surveys.survey_results(db, actor=actor, survey=found)
    return SellerSurveyResultsRead(
        id=found.id,
        asked=results.asked,
        answered=results.answered,
        means={item.kpi.code: mean for item, mean in results.means},
    )
