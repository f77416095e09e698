"""HTML routes of the early warnings, the recognition of progress and the funnel.

Each page reads the stored payload of its period (``touchline analytics run``), shows
what the viewer's reach covers (a seller: themself) and offers its table as CSV and
Excel.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from touchline.analytics import funnel_views, recognition, warning_views
from touchline.deps import Db, SignedIn
from touchline.kpis.catalogue import display_name
from touchline.kpis.service import chosen_period, period_choices
from touchline.web.exports import table_response, wants_download
from touchline.web.templating import render

router = APIRouter()
# Beyond this many warnings the page shows the most severe and the units to narrow to;
# the download holds them all.
SHOWN_ROWS = 200
# Beyond this many sellers the funnel page lists those who lose deals or are slow, and
# the units to narrow to; the download holds every seller.
SHOWN_SELLERS = 60


@router.get("/analytics/warnings")
def warnings_page(
    request: Request,
    db: Db,
    actor: SignedIn,
    period: str | None = None,
    unit: str | None = None,
    format: str | None = None,
) -> Response:
    chosen = chosen_period(period)
    view = warning_views.warnings_view(db, actor=actor, period=chosen).of_unit(unit)
    if wants_download(format):
        suffix = f"-{unit}" if unit else ""
        return table_response(
            warning_views.warnings_table(view),
            filename=f"warnings-{chosen.label}{suffix}",
            format=str(format),
        )
    context = {
        "view": view,
        "shown": view.rows[:SHOWN_ROWS],
        "unit": unit,
        "periods": period_choices(chosen),
        "kind_label": warning_views.kind_label,
        "method_label": warning_views.method_label,
    }
    return render(request, "analytics/warnings.html", context)


@router.get("/analytics/recognition")
def recognition_page(
    request: Request, db: Db, actor: SignedIn, period: str | None = None, format: str | None = None
) -> Response:
    chosen = chosen_period(period)
    view = recognition.recognition_view(db, actor=actor, period=chosen)
    if wants_download(format):
        return table_response(
            recognition.recognition_table(view),
            filename=f"recognition-{chosen.label}",
            format=str(format),
        )
    context = {"view": view, "periods": period_choices(chosen), "kpi_name": display_name}
    return render(request, "analytics/recognition.html", context)


@router.get("/analytics/funnel")
def funnel_page(
    request: Request,
    db: Db,
    actor: SignedIn,
    period: str | None = None,
    seller: str | None = None,
    unit: str | None = None,
    format: str | None = None,
) -> Response:
    chosen = chosen_period(period)
    view = funnel_views.funnel_view(db, actor=actor, period=chosen, seller=seller, unit=unit)
    if wants_download(format):
        suffix = f"-{seller or unit}" if seller or unit else ""
        return table_response(
            funnel_views.funnel_table(view),
            filename=f"funnel-{chosen.label}{suffix}",
            format=str(format),
        )
    context = {
        "view": view,
        "periods": period_choices(chosen),
        "seller": seller,
        "unit": unit,
        "shown_sellers": (
            [row for row in view.sellers if funnel_views.flagged(row)]
            if len(view.sellers) > SHOWN_SELLERS
            else view.sellers
        ),
        "stage_label": funnel_views.stage_label,
        "funnel_chart": funnel_views.funnel_chart(view) if view.computed else None,
    }
    return render(request, "analytics/funnel.html", context)
