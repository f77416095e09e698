"""HTML routes of the KPIs: a seller's scorecard and the KPI catalogue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from touchline.deps import Db, SignedIn
from touchline.kpis import catalogue, printing
from touchline.kpis.scorecards import level_label, seller_scorecard, unit_heatmap
from touchline.kpis.service import chosen_period, csv_response, heatmap_csv, period_choices
from touchline.org import service as org
from touchline.web.templating import render

router = APIRouter()


@router.get("/sellers/{external_id}/scorecard")
def scorecard(
    request: Request, db: Db, actor: SignedIn, external_id: str, period: str | None = None
) -> Response:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    chosen = chosen_period(period)
    card = seller_scorecard(db, actor=actor, seller=seller, period=chosen)
    context = {
        "card": card,
        "level_label": level_label,
        "periods": period_choices(chosen),
    }
    return render(request, "kpis/scorecard.html", context)


@router.get("/sellers/{external_id}/scorecard.pdf")
def scorecard_pdf(db: Db, actor: SignedIn, external_id: str, period: str | None = None) -> Response:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    chosen = chosen_period(period)
    card = seller_scorecard(db, actor=actor, seller=seller, period=chosen)
    return Response(
        printing.scorecard_pdf(card),
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f'attachment; filename="scorecard-{seller.external_id}-{chosen.label}.pdf"'
            )
        },
    )


@router.get("/units/{external_id}/heatmap")
def heatmap(
    request: Request,
    db: Db,
    actor: SignedIn,
    external_id: str,
    period: str | None = None,
    sort: str = "name",
    desc: bool = False,
    format: str = "html",
) -> Response:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    chosen = chosen_period(period)
    found = unit_heatmap(db, actor=actor, unit=unit, period=chosen, sort=sort, descending=desc)
    if format == "csv":
        return csv_response(heatmap_csv(found), f"heatmap-{unit.external_id}-{chosen.label}.csv")
    context = {"heatmap": found, "periods": period_choices(chosen)}
    return render(request, "kpis/heatmap.html", context)


@router.get("/kpis")
def kpi_catalogue(request: Request, db: Db, actor: SignedIn) -> Response:
    kpis = catalogue.list_kpis(db, actor=actor)
    versions = catalogue.Versions.load(db)
    rows = [
        {
            "kpi": kpi,
            "name": catalogue.display_name(kpi),
            "description": catalogue.display_description(kpi),
            "rule": catalogue.display_rule(versions.of(kpi.id)[-1]),
        }
        for kpi in kpis
    ]
    return render(request, "kpis/catalogue.html", {"rows": rows, "level_label": level_label})
