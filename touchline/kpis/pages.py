"""HTML routes of the KPIs: a seller's scorecard and its PDF, hand entries, the team
heatmap and the company overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from touchline.deps import Db, SignedIn
from touchline.errors import DomainError, InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis import catalogue, entries, printing
from touchline.kpis.heatmap import unit_heatmap
from touchline.kpis.models import Kpi, KpiSource
from touchline.kpis.overview import company_overview
from touchline.kpis.scorecards import (
    Scorecard,
    level_label,
    seller_scorecard,
)
from touchline.kpis.service import (
    card_table,
    chosen_period,
    form_number,
    heatmap_table,
    overview_table,
    period_choices,
)
from touchline.kpis.unit_cards import unit_scorecard
from touchline.org import service as org
from touchline.org.models import Seller
from touchline.web.exports import table_response, wants_download
from touchline.web.templating import render

router = APIRouter()


@router.get("/sellers/{external_id}/scorecard")
def scorecard(
    request: Request,
    db: Db,
    actor: SignedIn,
    external_id: str,
    period: str | None = None,
    format: str | None = None,
) -> Response:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    chosen = chosen_period(period)
    card = seller_scorecard(db, actor=actor, seller=seller, period=chosen)
    if wants_download(format):
        table = card_table(f"{seller.name} {chosen.label}", card.lines)
        return table_response(
            table, filename=f"scorecard-{seller.external_id}-{chosen.label}", format=str(format)
        )
    return render(request, "kpis/scorecard.html", _card_context(db, actor, seller, card))


@router.get("/units/{external_id}/scorecard")
def unit_card(
    request: Request,
    db: Db,
    actor: SignedIn,
    external_id: str,
    period: str | None = None,
    format: str | None = None,
) -> Response:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    chosen = chosen_period(period)
    card = unit_scorecard(db, actor=actor, unit=unit, period=chosen)
    if wants_download(format):
        table = card_table(f"{unit.name} {chosen.label}", card.lines)
        return table_response(
            table, filename=f"scorecard-{unit.external_id}-{chosen.label}", format=str(format)
        )
    context = {"card": card, "level_label": level_label, "periods": period_choices(chosen)}
    return render(request, "kpis/unit_scorecard.html", context)


def _card_context(db: Db, actor: SignedIn, seller: Seller, card: Scorecard) -> dict[str, object]:
    may_enter = actor.can_manage_seller(seller) or actor.own_seller_id == seller.id
    manual = (
        list(
            db.scalars(
                select(Kpi)
                .where(Kpi.source == KpiSource.MANUAL, Kpi.status == "active")
                .order_by(Kpi.code)
            )
        )
        if may_enter
        else []
    )
    return {
        "card": card,
        "level_label": level_label,
        "periods": period_choices(card.period),
        "manual": [(kpi, catalogue.display_name(kpi)) for kpi in manual],
    }


@router.post("/sellers/{external_id}/entries")
def scorecard_entry(
    request: Request,
    db: Db,
    actor: SignedIn,
    external_id: str,
    kpi: Annotated[str, Form()],
    period: Annotated[str, Form()],
    value: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    try:
        with db.begin_nested():
            number = form_number(value, "value")
            if number is None:
                raise InvalidInput(_("Enter a value."), field="value")
            if catalogue.get_kpi(db, kpi).unit == "ratio":
                number /= 100.0  # the form asks for a percentage
            entries.enter_value(
                db, actor=actor, seller=seller, kpi_code=kpi, period=period, value=number, note=note
            )
    except DomainError as error:
        card = seller_scorecard(db, actor=actor, seller=seller, period=chosen_period(None))
        context = _card_context(db, actor, seller, card) | {"form_error": error.message}
        return render(request, "kpis/scorecard.html", context, status_code=error.status_code)
    return RedirectResponse(
        f"/sellers/{seller.external_id}/scorecard?period={period}", status_code=303
    )


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
    view: str = "raw",
    format: str | None = None,
) -> Response:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    chosen = chosen_period(period)
    found = unit_heatmap(
        db, actor=actor, unit=unit, period=chosen, sort=sort, descending=desc, view=view
    )
    if wants_download(format):
        return table_response(
            heatmap_table(found),
            filename=f"heatmap-{unit.external_id}-{chosen.label}",
            format=str(format),
        )
    context = {"heatmap": found, "periods": period_choices(chosen)}
    return render(request, "kpis/heatmap.html", context)


@router.get("/overview")
def overview_page(
    request: Request,
    db: Db,
    actor: SignedIn,
    period: str | None = None,
    format: str | None = None,
) -> Response:
    chosen = chosen_period(period)
    found = company_overview(db, actor=actor, period=chosen)
    if wants_download(format):
        return table_response(
            overview_table(found), filename=f"overview-{chosen.label}", format=str(format)
        )
    context = {"overview": found, "periods": period_choices(chosen)}
    return render(request, "kpis/overview.html", context)
