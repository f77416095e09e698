"""HTML routes of the organisation: the unit tree, a unit, the seller list, a seller."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from touchline.deps import Db, SignedIn
from touchline.i18n import gettext as _
from touchline.org import service
from touchline.org.schemas import SellerRead
from touchline.web.exports import Table, table_response, wants_download
from touchline.web.parts import seller_page_parts
from touchline.web.templating import render

router = APIRouter()


def _sellers_table(title: str, rows: list[SellerRead]) -> Table:
    return Table(
        title,
        [
            "seller_id",
            "name",
            "email",
            "unit_id",
            "unit",
            "manager_id",
            "manager",
            "territory_id",
            "hire_date",
            "active",
        ],
        [
            [
                row.external_id,
                row.name,
                row.email,
                row.unit,
                row.unit_name,
                row.manager,
                row.manager_name,
                row.territory,
                row.hire_date,
                row.active,
            ]
            for row in rows
        ],
    )


@router.get("/units")
def units(request: Request, db: Db, actor: SignedIn) -> Response:
    return render(request, "org/units.html", {"roots": service.unit_tree(db, actor=actor)})


@router.get("/units/{external_id}")
def unit(
    request: Request, db: Db, actor: SignedIn, external_id: str, format: str | None = None
) -> Response:
    read = service.read_unit(db, actor=actor, external_id=external_id)
    sellers = service.list_sellers(db, actor=actor, unit_external_id=external_id)
    if wants_download(format):
        table = _sellers_table(read.name, sellers)
        return table_response(table, filename=f"sellers-{read.external_id}", format=str(format))
    children = [u for u in service.list_units(db, actor=actor) if u.parent == external_id]
    parent = (
        service.read_unit(db, actor=actor, external_id=read.parent)
        if read.parent and actor.can_see_unit(service.get_unit_id(db, read.parent))
        else None
    )
    context = {"unit": read, "sellers": sellers, "children": children, "parent": parent}
    return render(request, "org/unit.html", context)


@router.get("/sellers")
def sellers(
    request: Request,
    db: Db,
    actor: SignedIn,
    q: str = "",
    inactive: bool = False,
    format: str | None = None,
) -> Response:
    rows = service.list_sellers(db, actor=actor, search=q, include_inactive=inactive)
    if wants_download(format):
        return table_response(
            _sellers_table(_("Sellers"), rows), filename="sellers", format=str(format)
        )
    context = {"sellers": rows, "q": q, "inactive": inactive}
    if request.headers.get("hx-request") == "true":
        return render(request, "org/_seller_rows.html", context)
    return render(request, "org/sellers.html", context)


@router.get("/sellers/{external_id}")
def seller(request: Request, db: Db, actor: SignedIn, external_id: str) -> Response:
    read = service.read_seller(db, actor=actor, external_id=external_id)
    found = service.get_seller(db, actor=actor, external_id=external_id)
    context = {
        "seller": read,
        "parts": seller_page_parts(db, actor=actor, seller=found),
        "territory": service.territory_of(db, read.territory),
        "reports": service.direct_reports(db, actor=actor, external_id=external_id),
    }
    return render(request, "org/seller.html", context)
