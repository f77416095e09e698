"""HTML routes of the success behaviours: the ranked list with its evidence and forest
plot, its downloads, and the one-click proposal to make one a behavioural KPI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from touchline.analytics import behaviour_service as service
from touchline.analytics.training import plan_in_force
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.coaching.access import today
from touchline.deps import Db, LeaderUp, ManagerUp
from touchline.errors import DomainError
from touchline.kpis.service import chosen_period, form_number, period_choices
from touchline.org.periods import Period
from touchline.web.exports import table_response, wants_download
from touchline.web.templating import render

router = APIRouter()


def analysed_period(db: Db, label: str | None) -> Period:
    """Return the period asked for, else the one of the training plan in force, else the
    running quarter; refuses a bad label (field ``period``)."""
    if label:
        return chosen_period(label)
    found = plan_in_force(db, today())
    return found[0] if found else chosen_period(None)


def _context(db: Db, actor: Actor, period: Period) -> dict[str, Any]:
    report = service.behaviour_report(db, actor=actor, period=period)
    return {
        "report": report,
        "period": period,
        "periods": period_choices(period),
        "option": service.forest_option(report),
        "forest": service.forest_table(report),
        "may_propose": actor.at_least(Role.LEADER),
        "status_label": service.status_label,
        "kind_label": service.kind_label,
        "kpi_status_label": service.kpi_status_label,
        "evidence_label": service.evidence_label,
    }


@router.get("/analytics/behaviours")
def behaviours_page(
    request: Request, db: Db, actor: ManagerUp, period: str | None = None, format: str | None = None
) -> Response:
    chosen = analysed_period(db, period)
    if wants_download(format):
        report = service.behaviour_report(db, actor=actor, period=chosen)
        return table_response(
            service.behaviour_table(report),
            filename=f"success-behaviours-{chosen.label}",
            format=str(format),
        )
    return render(request, "analytics/behaviours.html", _context(db, actor, chosen))


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def form_action(
    request: Request,
    db: Db,
    template: str,
    context: Callable[[], dict[str, Any]],
    work: Callable[[], str],
) -> Response:
    """Do a form's ``work`` in a savepoint and show ``template`` again with what it said,
    or with the error (nothing of the work kept)."""
    try:
        with db.begin_nested():
            flash = work()
    except DomainError as error:
        shown = context() | {"form_error": error.message}
        return render(request, template, shown, status_code=error.status_code)
    return render(request, template, context() | {"flash": flash})


def _done(
    request: Request, db: Db, actor: Actor, period: Period, work: Callable[[], str]
) -> Response:
    return form_action(
        request, db, "analytics/behaviours.html", lambda: _context(db, actor, period), work
    )


@router.post("/analytics/behaviours/proposals")
async def propose(request: Request, db: Db, actor: LeaderUp) -> Response:
    """The one-click proposal: the measure (and, for a KPI, the template) from the form."""
    form = await request.form()
    chosen = chosen_period(_field(form, "period") or None)

    def work() -> str:
        return service.propose_kpi(
            db,
            actor=actor,
            period=chosen,
            measure=_field(form, "measure"),
            template=_field(form, "template") or None,
            weight=form_number(_field(form, "weight"), "weight"),
        ).message

    return _done(request, db, actor, chosen, work)
