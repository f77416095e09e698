"""HTML routes of the analytics section: the hub, and running the analyses of a period.

Each analysis adds its own page in a module of its own (``SECTIONS`` lists them for the
hub, one line per page); every page reads the stored results of its period and shows
only what the viewer's reach covers.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from touchline.analytics.models import AnalyticsResult
from touchline.analytics.registry import run_analytics
from touchline.auth.models import Role
from touchline.deps import Db, LeaderUp, ManagerUp
from touchline.i18n import gettext as _
from touchline.kpis.service import chosen_period, period_choices
from touchline.web.templating import render

router = APIRouter()


@dataclass(frozen=True)
class Section:
    """A page of the analytics section as the hub lists it."""

    path: str
    title: str
    summary: str
    analyses: tuple[str, ...]


def sections() -> list[Section]:
    """Return the analytics pages in the hub's order, their texts in the current language."""
    return [
        Section(
            "/analytics/fair",
            _("Fair comparison"),
            _(
                "Each seller's result against what their territory, account base and "
                "tenure predict."
            ),
            ("fairness",),
        ),
        Section(
            "/analytics/behaviours",
            _("What top sellers do differently"),
            _(
                "Behaviours that separate the top performers on the fair result from the "
                "rest, with their evidence, and a click to make one a KPI."
            ),
            ("behaviours",),
        ),
        Section(
            "/analytics/training",
            _("Training plan"),
            _(
                "Each seller's gap to the success behaviours: group trainings per unit and "
                "individual coaching items."
            ),
            ("training",),
        ),
        Section(
            "/analytics/warnings",
            _("Early warnings"),
            _("Every card KPI projected to period end, its trend, and teams losing energy."),
            ("warnings",),
        ),
        Section(
            "/analytics/recognition",
            _("Recognition of progress"),
            _("Sellers improving most against their own baseline, next to the top results."),
            ("recognition",),
        ),
        Section(
            "/analytics/funnel",
            _("Funnel"),
            _("Conversion and time in stage per seller against their unit."),
            ("funnel",),
        ),
        Section(
            "/analytics/effectiveness",
            _("KPI effectiveness"),
            _("Which KPIs relate to later fair results, and which are only statistics."),
            ("effectiveness",),
        ),
    ]


@router.get("/analytics")
def hub(request: Request, db: Db, actor: ManagerUp, period: str | None = None) -> Response:
    chosen = chosen_period(period)
    # When each analysis ran, without loading the payloads.
    computed = {
        row.analysis: row
        for row in db.execute(
            select(AnalyticsResult.analysis, AnalyticsResult.computed_at).where(
                AnalyticsResult.period == chosen.label
            )
        )
    }
    context = {
        "period": chosen,
        "periods": period_choices(chosen),
        "sections": sections(),
        "computed": computed,
        "may_run": actor.at_least(Role.LEADER),
    }
    return render(request, "analytics/hub.html", context)


@router.post("/analytics/run")
def run(db: Db, actor: LeaderUp, period: str | None = None) -> Response:
    chosen = chosen_period(period)
    run_analytics(db, chosen, trigger=f"run by {actor.label}"[:40])
    return RedirectResponse(f"/analytics?period={chosen.label}&ran=1", status_code=303)
