"""HTML routes of coaching: the due list, a seller's coaching page and timeline, the
impediments view and the calendar file (the conversation itself: conversation_pages.py).

Forms post and redirect back; a refused change renders the page again with the error
(409 with both texts for a stale save) and nothing stored changes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from touchline.coaching import (
    actions,
    cadence,
    calendar,
    conversations,
    impediments,
    record,
    tables,
    timeline,
)
from touchline.coaching.access import today
from touchline.deps import Db, ManagerUp, SignedIn
from touchline.errors import DomainError, InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.models import Kpi
from touchline.kpis.service import form_int
from touchline.org import service as org
from touchline.web.exports import table_response, wants_download
from touchline.web.templating import render

router = APIRouter()


def see_other(path: str) -> RedirectResponse:
    """Return the redirect after a successful form (POST, then GET)."""
    return RedirectResponse(path, status_code=303)


def form_day(text: str, field: str) -> date | None:
    """Return the date typed in a form field (YYYY-MM-DD), None when empty."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            _("%(value)s is not a date (YYYY-MM-DD).", value=text), field=field
        ) from None


def local_path(text: str, fallback: str) -> str:
    """Return ``text`` when it is a path on this site, else ``fallback`` (no open redirect)."""
    return text if text.startswith("/") and not text.startswith("//") else fallback


# --- the due list, impediments, the calendar -------------------------------------------------


@router.get("/coaching")
def due_page(
    request: Request,
    db: Db,
    actor: ManagerUp,
    everyone: bool = False,
    unit: str = "",
    format: str = "html",
) -> Response:
    unit_id = org.get_unit(db, actor=actor, external_id=unit).id if unit else None
    states = cadence.due_list(db, actor=actor, everyone=everyone, unit_id=unit_id)
    if wants_download(format):
        return table_response(tables.due_table(states), filename="coaching-due", format=format)
    units = [
        u
        for u in org.list_units(db, actor=actor)
        if actor.can_manage_unit(org.get_unit_id(db, u.external_id))
    ]
    query = "&".join(
        part for part in (f"everyone={int(everyone)}", f"unit={unit}" if unit else "") if part
    )
    context = {
        "states": states,
        "today": today(),
        "everyone": everyone,
        "unit": unit,
        "units": units,
        "query": query,
    }
    return render(request, "coaching/due.html", context)


@router.post("/coaching/cadence")
def unit_cadence(
    request: Request,
    db: Db,
    actor: ManagerUp,
    unit: Annotated[str, Form()],
    every_days: Annotated[str, Form()] = "",
) -> Response:
    found = org.get_unit(db, actor=actor, external_id=unit)
    cadence.set_unit_cadence(
        db, actor=actor, unit=found, every_days=form_int(every_days, "every_days")
    )
    return see_other("/coaching?everyone=1")


@router.get("/coaching/impediments")
def impediments_page(
    request: Request,
    db: Db,
    actor: ManagerUp,
    months: int = 12,
    unit: str = "",
    format: str = "html",
) -> Response:
    if not 1 <= months <= 60:
        raise InvalidInput(_("Ask for 1 to 60 months."), field="months")
    unit_id = org.get_unit(db, actor=actor, external_id=unit).id if unit else None
    report = impediments.impediment_report(db, actor=actor, months=months, unit_id=unit_id)
    table = tables.impediment_table(report)
    if wants_download(format):
        return table_response(table, filename=f"impediments-{months}-months", format=format)
    context = {
        "report": report,
        "table": table,
        "option": tables.impediment_chart(report),
        "months": months,
        "unit": unit,
        "query": f"months={months}" + (f"&unit={unit}" if unit else ""),
        "category_label": impediments.category_label,
    }
    return render(request, "coaching/impediments.html", context)


@router.get("/coaching/calendar.ics")
def calendar_file(db: Db, actor: SignedIn) -> Response:
    return Response(
        calendar.planned_calendar(db, actor=actor),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="coaching.ics"'},
    )


# --- a seller's coaching page and timeline ---------------------------------------------------


def _seller_context(db: Db, actor: SignedIn, external_id: str) -> dict[str, Any]:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    state = cadence.coaching_states(db, [seller], today=today())[0]
    _every, own = cadence.own_cadence(db, seller=seller)
    kpis = {k.id: k for k in db.scalars(select(Kpi))}
    return {
        "seller": seller,
        "state": state,
        "own_cadence": own,
        "today": today(),
        "conversations": conversations.conversations_of(db, actor=actor, seller=seller),
        "actions": actions.actions_of(db, actor=actor, seller=seller),
        "topics": record.pending_topics(db, seller=seller),
        "may_manage": actor.can_manage_seller(seller),
        "is_seller": actor.own_seller_id == seller.id,
        "kpi_name": lambda kpi_id: display_name(kpis[kpi_id]) if kpi_id in kpis else "",
        "status_label": record.status_label,
    }


@router.get("/sellers/{external_id}/coaching")
def seller_coaching(
    request: Request, db: Db, actor: SignedIn, external_id: str, format: str = "html"
) -> Response:
    context = _seller_context(db, actor, external_id)
    if wants_download(format):
        table = tables.actions_table(context["seller"], context["actions"], context["kpi_name"])
        return table_response(table, filename=f"action-items-{external_id}", format=format)
    return render(request, "coaching/seller.html", context)


def seller_page_error(
    request: Request, db: Db, actor: SignedIn, external_id: str, error: DomainError
) -> Response:
    """Render the seller's coaching page again with ``error`` and its status."""
    context = _seller_context(db, actor, external_id) | {"form_error": error.message}
    return render(request, "coaching/seller.html", context, status_code=error.status_code)


@router.post("/sellers/{external_id}/conversations")
def open_conversation(
    request: Request,
    db: Db,
    actor: ManagerUp,
    external_id: str,
    scheduled_on: Annotated[str, Form()] = "",
    scheduled_time: Annotated[str, Form()] = "",
) -> Response:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    try:
        with db.begin_nested():
            when = calendar.local_time(form_day(scheduled_on, "scheduled_on"), scheduled_time)
            opened = conversations.open_conversation(
                db, actor=actor, seller=seller, scheduled_at=when
            )
    except DomainError as error:
        return seller_page_error(request, db, actor, external_id, error)
    return see_other(f"/conversations/{opened.id}")


@router.post("/sellers/{external_id}/topics")
def add_topic(
    request: Request,
    db: Db,
    actor: SignedIn,
    external_id: str,
    text: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    try:
        with db.begin_nested():
            record.add_topic(db, actor=actor, seller=seller, text=text)
    except DomainError as error:
        return seller_page_error(request, db, actor, external_id, error)
    return see_other(local_path(next, f"/sellers/{external_id}/coaching"))


@router.post("/sellers/{external_id}/cadence")
def seller_cadence(
    request: Request,
    db: Db,
    actor: ManagerUp,
    external_id: str,
    every_days: Annotated[str, Form()] = "",
) -> Response:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    try:
        with db.begin_nested():
            cadence.set_seller_cadence(
                db, actor=actor, seller=seller, every_days=form_int(every_days, "every_days")
            )
    except DomainError as error:
        return seller_page_error(request, db, actor, external_id, error)
    return see_other(f"/sellers/{external_id}/coaching")


@router.get("/sellers/{external_id}/timeline")
def timeline_page(
    request: Request, db: Db, actor: SignedIn, external_id: str, format: str = "html"
) -> Response:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    entries = timeline.seller_timeline(db, actor=actor, seller=seller)
    if wants_download(format):
        return table_response(
            tables.timeline_table(seller, entries),
            filename=f"timeline-{external_id}",
            format=format,
        )
    context = {"seller": seller, "entries": entries, "kind_label": timeline.kind_label}
    return render(request, "coaching/timeline.html", context)
