"""HTML routes of the training plan: per unit the group trainings and the individual
coaching items, the downloads, and pushing an item into the next coaching conversation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from touchline.analytics import training_service as service
from touchline.analytics.behaviour_pages import analysed_period, form_action
from touchline.auth.policy import Actor
from touchline.deps import Db, ManagerUp
from touchline.kpis.service import chosen_period, period_choices
from touchline.org.periods import Period
from touchline.web.exports import table_response, wants_download
from touchline.web.templating import render

router = APIRouter()


def _context(db: Db, actor: Actor, period: Period) -> dict[str, Any]:
    return {
        "view": service.training_view(db, actor=actor, period=period),
        "period": period,
        "periods": period_choices(period),
    }


@router.get("/analytics/training")
def training_page(
    request: Request, db: Db, actor: ManagerUp, period: str | None = None, format: str | None = None
) -> Response:
    chosen = analysed_period(db, period)
    if wants_download(format):
        view = service.training_view(db, actor=actor, period=chosen)
        return table_response(
            service.gaps_table(view), filename=f"training-plan-{chosen.label}", format=str(format)
        )
    return render(request, "analytics/training.html", _context(db, actor, chosen))


def _done(
    request: Request, db: Db, actor: Actor, period: Period, work: Callable[[], str]
) -> Response:
    return form_action(
        request, db, "analytics/training.html", lambda: _context(db, actor, period), work
    )


@router.post("/analytics/training/pushes")
async def push(request: Request, db: Db, actor: ManagerUp) -> Response:
    """Push to coaching: the seller and the behaviour of an individual item from the form."""
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    chosen = chosen_period(field("period") or None)

    def work() -> str:
        return service.push_to_coaching(
            db, actor=actor, period=chosen, seller=field("seller"), measure=field("measure")
        ).message

    return _done(request, db, actor, chosen, work)
