"""The survey form an outside rater opens from a single-use link: no account, in the
rater's language (or the one they pick), made for a phone."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from touchline import i18n
from touchline.config import LANGUAGES
from touchline.deps import Db, Public
from touchline.errors import DomainError
from touchline.kpis.service import form_number
from touchline.ratings import answers
from touchline.ratings.answers import SurveyLinkError
from touchline.web.templating import render

router = APIRouter()


def _language(request: Request, invitation_language: str | None) -> str:
    """The rater's own pick (the language switcher) first, else the invitation's."""
    chosen = request.scope.get("session", {}).get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    if invitation_language in LANGUAGES:
        return str(invitation_language)
    return i18n.current_language()


def _closed(request: Request, db: Db, token: str, error: SurveyLinkError) -> Response:
    """The page of a link that cannot be answered, in the invitation's language too."""
    with i18n.language(_language(request, answers.link_language(db, token=token))):
        state = SurveyLinkError(error.state)
        context = {"message": state.message, "state": state.state.value}
        return render(request, "ratings/survey_closed.html", context, status_code=state.status_code)


@router.get("/survey/{token}")
def survey_page(request: Request, db: Db, _user: Public, token: str) -> Response:
    try:
        form = answers.survey_form(db, token=token)
    except SurveyLinkError as error:
        return _closed(request, db, token, error)
    with i18n.language(_language(request, form.invitation.language)):
        return render(request, "ratings/survey.html", {"form": form, "token": token, "entered": {}})


@router.post("/survey/{token}")
async def survey_answer(request: Request, db: Db, _user: Public, token: str) -> Response:
    try:
        form = answers.survey_form(db, token=token)
    except SurveyLinkError as error:
        return _closed(request, db, token, error)
    submitted = await request.form()
    entered = {key: value for key, value in submitted.items() if isinstance(value, str)}
    with i18n.language(_language(request, form.invitation.language)):
        try:
            with db.begin_nested():
                score_text = entered.get("score", "").strip()
                answers.answer_survey(
                    db,
                    token=token,
                    score=int(score_text) if score_text.isdigit() else None,
                    ratings={
                        item.kpi.code: form_number(
                            entered.get(f"score_{item.kpi.code}", ""), f"score_{item.kpi.code}"
                        )
                        for item in form.kpis
                    },
                    comment=entered.get("comment", ""),
                )
        except SurveyLinkError as error:
            return _closed(request, db, token, error)
        except DomainError as error:
            context = {
                "form": form,
                "token": token,
                "entered": entered,
                "form_error": error.message,
                "error_field": error.field,
            }
            return render(request, "ratings/survey.html", context, status_code=error.status_code)
        return render(request, "ratings/survey_thanks.html", {"seller": form.seller_name})
