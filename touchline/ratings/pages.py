"""HTML routes of the soft KPIs: the ratings hub, rating rounds (the seller's self-rating
and the manager's rate-my-team grid), survey campaigns, seller surveys, predictions,
calibration, scales, the pulse and the team energy page."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from touchline.auth.models import Role
from touchline.deps import Db, LeaderUp, ManagerUp, SignedIn
from touchline.errors import DomainError, InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis.service import chosen_period, form_number, period_choices
from touchline.org import service as org
from touchline.org.models import Seller
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
from touchline.ratings.api import company_name
from touchline.ratings.models import CampaignKind, SurveyCampaign
from touchline.web.exports import Table, table_csv, table_response, wants_download
from touchline.web.templating import render

router = APIRouter()


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _hub_context(db: Db, actor: SignedIn) -> dict[str, object]:
    waiting, team = rounds.waiting_for(db, actor=actor)
    manager = actor.at_least(Role.MANAGER)
    return {
        "rounds": [
            rounds.round_view(db, actor=actor, rating_round=item)
            for item in rounds.visible_rounds(db, actor=actor)
        ],
        "waiting": waiting,
        "team_waiting": team,
        "campaigns": [
            campaigns.campaign_view(db, actor=actor, campaign=item)
            for item in campaigns.visible_campaigns(db, actor=actor)
        ]
        if manager
        else [],
        "surveys_waiting": seller_surveys.surveys_waiting(db, actor=actor),
        "predictions": campaigns.invitations_to_predict(db, actor=actor),
        "rated": scales.rated_kpis(db),
        "units": _managed_units(db, actor) if manager else [],
        "may_open": manager,
        "period": chosen_period(None).label,
        "kinds": [
            (CampaignKind.CUSTOMER.value, _("customers")),
            (CampaignKind.MYSTERY_SHOPPER.value, _("mystery shoppers")),
            (CampaignKind.PEER.value, _("peers")),
        ],
        "statuses": [
            ("", _("any")),
            ("existing", _("existing customers")),
            ("lost", _("lost customers")),
            ("prospect", _("prospects")),
            ("lost_prospect", _("lost prospects")),
        ],
        "foundation": seller_surveys.FOUNDATION_CODES,
    }


def _managed_units(db: Db, actor: SignedIn) -> list[object]:
    units = org.list_units(db, actor=actor)
    ids = org.unit_ids(db, [unit.external_id for unit in units])
    return [unit for unit in units if actor.can_manage_unit(ids[unit.external_id])]


@router.get("/ratings")
def hub(request: Request, db: Db, actor: SignedIn) -> Response:
    return render(request, "ratings/hub.html", _hub_context(db, actor))


def _hub_error(request: Request, db: Db, actor: SignedIn, error: DomainError) -> Response:
    context = _hub_context(db, actor) | {"form_error": error.message}
    return render(request, "ratings/hub.html", context, status_code=error.status_code)


@router.post("/ratings/rounds")
async def round_create(request: Request, db: Db, actor: ManagerUp) -> Response:
    form = await request.form()
    try:
        with db.begin_nested():
            due = _field(form, "due_date")
            created = rounds.create_round(
                db,
                actor=actor,
                name=_field(form, "name"),
                period=_field(form, "period"),
                unit=org.get_unit(db, actor=actor, external_id=_field(form, "unit")),
                kpi_codes=[str(code) for code in form.getlist("kpis")],
                due_date=_date(due, "due_date") if due else None,
            )
    except DomainError as error:
        return _hub_error(request, db, actor, error)
    return RedirectResponse(f"/ratings/rounds/{created.id}", status_code=303)


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _("%(value)s is not a date: write 2026-12-31.", value=text), field=field
        ) from None


def _round_page(
    request: Request,
    db: Db,
    actor: SignedIn,
    round_id: int,
    extra: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    found = rounds.get_round(db, actor=actor, round_id=round_id)
    view = rounds.round_view(db, actor=actor, rating_round=found)
    context: dict[str, object] = {
        "view": view,
        "may_close": view.open
        and actor.at_least(Role.MANAGER)
        and actor.can_manage_unit(found.unit_id),
        "mine": next((s for s in view.sellers if s.seller.id == actor.own_seller_id), None),
        "team": [s for s in view.sellers if s.may_rate_as == "manager"],
        "entered": {},
    }
    context.update(extra or {})
    return render(request, "ratings/round.html", context, status_code=status_code)


@router.get("/ratings/rounds/{round_id}")
def round_page(request: Request, db: Db, actor: SignedIn, round_id: int) -> Response:
    return _round_page(request, db, actor, round_id)


@router.post("/ratings/rounds/{round_id}/ratings")
async def round_rate(request: Request, db: Db, actor: SignedIn, round_id: int) -> Response:
    """One form for the seller's self-rating or the manager's whole grid: every complete
    row is stored; a row begun but not finished refuses the lot, naming it."""
    found = rounds.get_round(db, actor=actor, round_id=round_id)
    form = await request.form()
    entered: dict[str, str] = {key: value for key, value in form.items() if isinstance(value, str)}
    codes = found.kpi_codes
    sellers = [str(value) for value in form.getlist("seller")]
    stored = 0
    row: str | None = None  # the seller whose row is being stored, to name in a refusal
    try:
        with db.begin_nested():
            for external_id in sellers:
                values = {code: _field(form, f"score_{external_id}_{code}") for code in codes}
                if not any(values.values()):
                    continue
                row = external_id
                seller = org.get_seller(db, actor=actor, external_id=external_id)
                rounds.submit_ratings(
                    db,
                    actor=actor,
                    rating_round=found,
                    seller=seller,
                    scores={
                        code: form_number(text, f"score_{external_id}_{code}")
                        for code, text in values.items()
                    },
                    comments={
                        code: _field(form, f"comment_{external_id}_{code}") for code in codes
                    },
                )
                stored += 1
            row = None
            if not stored:
                raise InvalidInput(_("Give a score for every KPI first."), field="scores")
    except DomainError as error:
        return _round_page(
            request,
            db,
            actor,
            round_id,
            {"form_error": _on_whom(db, error, row), "entered": entered},
            status_code=error.status_code,
        )
    return RedirectResponse(f"/ratings/rounds/{round_id}?saved={stored}", status_code=303)


def _on_whom(db: Db, error: DomainError, external_id: str | None) -> str:
    """Name the seller of the grid row the refusal is about, when it is about one."""
    if external_id:
        name = db.scalar(select(Seller.name).where(Seller.external_id == external_id))
        if name:
            return f"{name}: {error.message}"
    return error.message


@router.post("/ratings/rounds/{round_id}/close")
def round_close(request: Request, db: Db, actor: ManagerUp, round_id: int) -> Response:
    found = rounds.get_round(db, actor=actor, round_id=round_id)
    try:
        with db.begin_nested():
            rounds.close_round(db, actor=actor, rating_round=found)
    except DomainError as error:
        return _round_page(
            request, db, actor, round_id, {"form_error": error.message}, error.status_code
        )
    return RedirectResponse(f"/ratings/rounds/{round_id}", status_code=303)


@router.post("/ratings/campaigns")
async def campaign_create(request: Request, db: Db, actor: ManagerUp) -> Response:
    form = await request.form()
    try:
        with db.begin_nested():
            created = campaigns.create_campaign(
                db,
                actor=actor,
                name=_field(form, "name"),
                kind=_field(form, "kind"),
                period=_field(form, "period"),
                unit=org.get_unit(db, actor=actor, external_id=_field(form, "unit")),
                kpi_codes=[str(code) for code in form.getlist("kpis")],
                customer_status=_field(form, "customer_status") or None,
                ask_score=_field(form, "ask_score") == "true",
                message=_field(form, "message"),
            )
    except DomainError as error:
        return _hub_error(request, db, actor, error)
    return RedirectResponse(f"/ratings/campaigns/{created.id}", status_code=303)


def _campaign_page(
    request: Request,
    db: Db,
    actor: ManagerUp,
    campaign_id: int,
    extra: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    context: dict[str, object] = {
        "view": campaigns.campaign_view(db, actor=actor, campaign=found),
        "mail": mail.mail_configured(),
        "links": [],
        "skipped": [],
    }
    context.update(extra or {})
    return render(request, "ratings/campaign.html", context, status_code=status_code)


@router.get("/ratings/campaigns/{campaign_id}")
def campaign_page(
    request: Request, db: Db, actor: ManagerUp, campaign_id: int, format: str | None = None
) -> Response:
    if wants_download(format):
        found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
        view = campaigns.campaign_view(db, actor=actor, campaign=found)
        table = Table(
            found.name,
            ["seller_id", "seller", "invited", "sent", "answered"],
            [
                [item.seller.external_id, item.seller.name, item.invited, item.sent, item.answered]
                for item in view.sellers
            ],
        )
        return table_response(table, filename=f"campaign-{found.id}", format=str(format))
    return _campaign_page(request, db, actor, campaign_id)


def _links_table(links: list[campaigns.IssuedLink]) -> Table:
    return Table(
        _("Survey links"),
        ["seller", "contact", "email", "link"],
        [
            [
                link.seller_name,
                link.invitation.contact_name,
                link.invitation.contact_email,
                link.url,
            ]
            for link in links
        ],
    )


def _issued(
    request: Request,
    db: Db,
    actor: ManagerUp,
    campaign: SurveyCampaign,
    links: list[campaigns.IssuedLink],
    *,
    send: bool,
    skipped: list[tuple[int, str]] | None = None,
) -> Response:
    extra: dict[str, object] = {"links": links, "skipped": skipped or []}
    if send:
        sent = mail.send_invitations(
            db, actor=actor, campaign=campaign, links=links, company=company_name(db)
        )
        extra["sent"] = sent
    if links:
        extra["links_csv"] = base64.b64encode(table_csv(_links_table(links)).encode()).decode()
    return _campaign_page(request, db, actor, campaign.id, extra)


@router.post("/ratings/campaigns/{campaign_id}/contacts")
async def campaign_contacts(
    request: Request,
    db: Db,
    actor: ManagerUp,
    campaign_id: int,
    file: UploadFile,
    send: Annotated[str, Form()] = "",
) -> Response:
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    data = await file.read()
    try:
        with db.begin_nested():
            contacts = campaigns.parse_contacts(data, filename=file.filename or "contacts.csv")
            added = campaigns.add_contacts(db, actor=actor, campaign=found, contacts=contacts)
            return _issued(
                request, db, actor, found, added.links, send=send == "true", skipped=added.skipped
            )
    except DomainError as error:
        return _campaign_page(
            request, db, actor, campaign_id, {"form_error": error.message}, error.status_code
        )


@router.post("/ratings/campaigns/{campaign_id}/peers")
def campaign_peers(
    request: Request,
    db: Db,
    actor: ManagerUp,
    campaign_id: int,
    send: Annotated[str, Form()] = "",
) -> Response:
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    try:
        with db.begin_nested():
            added = campaigns.add_peers(db, actor=actor, campaign=found)
            return _issued(request, db, actor, found, added.links, send=send == "true")
    except DomainError as error:
        return _campaign_page(
            request, db, actor, campaign_id, {"form_error": error.message}, error.status_code
        )


@router.post("/ratings/campaigns/{campaign_id}/links")
def campaign_links(
    request: Request,
    db: Db,
    actor: ManagerUp,
    campaign_id: int,
    send: Annotated[str, Form()] = "",
) -> Response:
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    try:
        with db.begin_nested():
            links = campaigns.reissue_links(db, actor=actor, campaign=found)
            return _issued(request, db, actor, found, links, send=send == "true")
    except DomainError as error:
        return _campaign_page(
            request, db, actor, campaign_id, {"form_error": error.message}, error.status_code
        )


@router.post("/ratings/campaigns/{campaign_id}/close")
def campaign_close(db: Db, actor: ManagerUp, campaign_id: int) -> Response:
    found = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
    campaigns.close_campaign(db, actor=actor, campaign=found)
    return RedirectResponse(f"/ratings/campaigns/{campaign_id}", status_code=303)


@router.post("/ratings/predictions/{invitation_id}")
def prediction(
    request: Request,
    db: Db,
    actor: SignedIn,
    invitation_id: int,
    predicted: Annotated[str, Form()] = "",
) -> Response:
    try:
        with db.begin_nested():
            number = form_number(predicted, "predicted")
            answers.predict_score(
                db,
                actor=actor,
                invitation_id=invitation_id,
                predicted=None if number is None else round(number),
            )
    except DomainError as error:
        return _hub_error(request, db, actor, error)
    return RedirectResponse("/ratings#predictions", status_code=303)


@router.post("/ratings/surveys")
async def survey_create(request: Request, db: Db, actor: ManagerUp) -> Response:
    form = await request.form()
    try:
        with db.begin_nested():
            created = seller_surveys.create_seller_survey(
                db,
                actor=actor,
                name=_field(form, "name"),
                period=_field(form, "period"),
                unit=org.get_unit(db, actor=actor, external_id=_field(form, "unit")),
                kpi_codes=[str(code) for code in form.getlist("kpis")] or None,
            )
    except DomainError as error:
        return _hub_error(request, db, actor, error)
    return RedirectResponse(f"/ratings/surveys/{created.id}", status_code=303)


def _survey_page(
    request: Request,
    db: Db,
    actor: SignedIn,
    survey_id: int,
    extra: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    found = seller_surveys.get_seller_survey(db, actor=actor, survey_id=survey_id)
    waiting = {survey.id for survey in seller_surveys.surveys_waiting(db, actor=actor)}
    context: dict[str, object] = {
        "survey": found,
        "questions": seller_surveys.survey_questions(db, found),
        "may_answer": found.id in waiting,
        "results": seller_surveys.survey_results(db, actor=actor, survey=found)
        if actor.can_manage_unit(found.unit_id)
        else None,
        "entered": {},
    }
    context.update(extra or {})
    return render(request, "ratings/seller_survey.html", context, status_code=status_code)


@router.get("/ratings/surveys/{survey_id}")
def survey_page(request: Request, db: Db, actor: SignedIn, survey_id: int) -> Response:
    return _survey_page(request, db, actor, survey_id)


@router.post("/ratings/surveys/{survey_id}/answers")
async def survey_answer(request: Request, db: Db, actor: SignedIn, survey_id: int) -> Response:
    found = seller_surveys.get_seller_survey(db, actor=actor, survey_id=survey_id)
    form = await request.form()
    entered = {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        with db.begin_nested():
            seller_surveys.answer_seller_survey(
                db,
                actor=actor,
                survey=found,
                scores={
                    code: form_number(_field(form, f"score_{code}"), f"score_{code}")
                    for code in found.kpi_codes
                },
            )
    except DomainError as error:
        return _survey_page(
            request,
            db,
            actor,
            survey_id,
            {"form_error": error.message, "entered": entered},
            error.status_code,
        )
    return RedirectResponse("/?answered=survey", status_code=303)


@router.post("/ratings/surveys/{survey_id}/close")
def survey_close(db: Db, actor: ManagerUp, survey_id: int) -> Response:
    found = seller_surveys.get_seller_survey(db, actor=actor, survey_id=survey_id)
    seller_surveys.close_seller_survey(db, actor=actor, survey=found)
    return RedirectResponse(f"/ratings/surveys/{survey_id}", status_code=303)


@router.get("/ratings/calibration")
def calibration_page(
    request: Request, db: Db, actor: ManagerUp, period: str | None = None, format: str | None = None
) -> Response:
    chosen = chosen_period(period)
    found = perception.calibration(db, actor=actor, period=chosen)
    if wants_download(format):
        table = Table(
            _("Calibration"),
            ["rater", "name", "role", "ratings", "sellers", "mean", "company_mean", "difference"],
            [
                [
                    r.rater,
                    r.name,
                    r.role,
                    r.ratings,
                    r.sellers,
                    r.mean,
                    r.company_mean,
                    r.difference,
                ]
                for r in found.raters
            ],
        )
        return table_response(table, filename=f"calibration-{chosen.label}", format=str(format))
    context = {"calibration": found, "periods": period_choices(chosen)}
    return render(request, "ratings/calibration.html", context)


@router.get("/ratings/scales")
def scales_page(request: Request, db: Db, actor: SignedIn) -> Response:
    context = {
        "rated": scales.rated_kpis(db),
        "scales": scales.list_scales(db),
        "may_edit": actor.at_least(Role.LEADER),
    }
    return render(request, "ratings/scales.html", context)


@router.post("/ratings/scales/{code}")
async def scale_save(request: Request, db: Db, actor: LeaderUp, code: str) -> Response:
    form = await request.form()
    try:
        with db.begin_nested():
            chosen = _field(form, "scale")
            scale = next((s for s in scales.list_scales(db) if s.code == chosen), None)
            if scale is None:
                raise InvalidInput(
                    _("There is no rating scale %(code)s.", code=chosen), field="scale"
                )
            anchors: dict[float, str] = {}
            for key, value in form.items():
                if key.startswith("anchor_") and isinstance(value, str) and value.strip():
                    point = form_number(key.removeprefix("anchor_"), "anchors")
                    if point is not None:
                        anchors[point] = value
            scales.set_kpi_scale(db, actor=actor, kpi_code=code, scale_code=chosen, anchors=anchors)
    except DomainError as error:
        context = {
            "rated": scales.rated_kpis(db),
            "scales": scales.list_scales(db),
            "may_edit": True,
            "form_error": error.message,
        }
        return render(request, "ratings/scales.html", context, status_code=error.status_code)
    return RedirectResponse(f"/ratings/scales#kpi-{code}", status_code=303)


@router.post("/pulse")
async def pulse_answer(request: Request, db: Db, actor: SignedIn) -> Response:
    """The dashboard's three taps: this week's pulse."""
    form = await request.form()

    def value(name: str) -> int | None:
        text = _field(form, name)
        return int(text) if text.isdigit() else None

    try:
        with db.begin_nested():
            pulse.answer_pulse(
                db,
                actor=actor,
                motivation=value("motivation"),
                energy=value("energy"),
                pride=value("pride"),
                comment=_field(form, "comment"),
            )
    except DomainError as error:
        from touchline.web import dashboard

        context = dashboard.build(db, actor=actor).__dict__ | {"pulse_error": error.message}
        return render(request, "dashboard.html", context, status_code=error.status_code)
    return RedirectResponse("/?pulse=thanks#pulse", status_code=303)


@router.get("/units/{external_id}/energy")
def energy_page(
    request: Request, db: Db, actor: SignedIn, external_id: str, format: str | None = None
) -> Response:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    index = pulse.team_energy(db, actor=actor, unit=unit)
    if wants_download(format):
        return table_response(
            energy_table(index), filename=f"energy-{unit.external_id}", format=str(format)
        )
    return render(request, "ratings/energy.html", {"index": index, "table": energy_table(index)})


def energy_table(index: pulse.EnergyIndex) -> Table:
    """The numbers behind the energy chart: per week the energy, answers and activities."""
    return Table(
        _("Team energy"),
        [_("Week"), _("Energy"), _("Answers"), _("Activities")],
        [
            [week, energy, answered, activities]
            for week, energy, answered, activities in zip(
                index.weeks, index.energy, index.answers, index.activities, strict=True
            )
        ],
    )
