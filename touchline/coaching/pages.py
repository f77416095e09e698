"""HTML routes of coaching: the due list, a seller's coaching page and timeline, the
conversation workspace and its PDF, the impediments view and the calendar file.

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
    printing,
    record,
    tables,
    timeline,
)
from touchline.coaching.access import EditConflict, get_conversation, today
from touchline.coaching.kpis import refresh_coaching_kpis
from touchline.coaching.models import ImpedimentCategory
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


def _back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            _("%(value)s is not a date (YYYY-MM-DD).", value=text), field=field
        ) from None


def _local_path(text: str, fallback: str) -> str:
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
    return _back("/coaching?everyone=1")


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


def _seller_page_error(
    request: Request, db: Db, actor: SignedIn, external_id: str, error: DomainError
) -> Response:
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
            when = calendar.local_time(_day(scheduled_on, "scheduled_on"), scheduled_time)
            opened = conversations.open_conversation(
                db, actor=actor, seller=seller, scheduled_at=when
            )
    except DomainError as error:
        return _seller_page_error(request, db, actor, external_id, error)
    return _back(f"/conversations/{opened.id}")


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
        return _seller_page_error(request, db, actor, external_id, error)
    return _back(_local_path(next, f"/sellers/{external_id}/coaching"))


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
        return _seller_page_error(request, db, actor, external_id, error)
    return _back(f"/sellers/{external_id}/coaching")


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


# --- the conversation -------------------------------------------------------------------------


def _conversation_context(db: Db, actor: SignedIn, conversation_id: int) -> dict[str, Any]:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    found = record.conversation_record(db, actor=actor, conversation=conversation)
    kpis = list(db.scalars(select(Kpi).where(Kpi.status == "active").order_by(Kpi.level, Kpi.code)))
    return {
        "record": found,
        "conversation": conversation,
        "today": today(),
        "status_label": record.status_label,
        "is_overdue": record.is_overdue,
        "categories": [(c.value, impediments.category_label(c.value)) for c in ImpedimentCategory],
        "category_label": impediments.category_label,
        "kpis": [(kpi.code, display_name(kpi)) for kpi in kpis],
        "kpi_name": lambda kpi_id: display_name(found.kpis[kpi_id]) if kpi_id in found.kpis else "",
    }


def _refused(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    error: DomainError,
    anchor: str = "",
) -> Response:
    context = _conversation_context(db, actor, conversation_id) | {
        "form_error": error.message,
        "error_field": error.field,
        "error_anchor": anchor,
    }
    if isinstance(error, EditConflict):
        context["conflict"] = {"anchor": anchor, "field": error.field, **error.details}
    return render(request, "coaching/conversation.html", context, status_code=error.status_code)


def _change(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    change: Any,
    anchor: str = "",
    refresh: bool = False,
) -> Response:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    try:
        with db.begin_nested():
            change(conversation)
            if refresh and conversation.held_on is not None:
                refresh_coaching_kpis(db, days=[conversation.held_on])
    except DomainError as error:
        db.expire_all()
        return _refused(request, db, actor, conversation_id, error, anchor)
    return _back(f"/conversations/{conversation_id}" + (f"#{anchor}" if anchor else ""))


@router.get("/conversations/{conversation_id}")
def conversation_page(request: Request, db: Db, actor: SignedIn, conversation_id: int) -> Response:
    return render(
        request, "coaching/conversation.html", _conversation_context(db, actor, conversation_id)
    )


@router.post("/conversations/{conversation_id}/fields")
def save_field(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    field: Annotated[str, Form()],
    version: Annotated[int, Form()],
    text: Annotated[str, Form()] = "",
) -> Response:
    def change(conversation: Any) -> None:
        conversations.update_fields(
            db, actor=actor, conversation=conversation, version=version, changes={field: text}
        )

    return _change(request, db, actor, conversation_id, change, anchor=field)


@router.post("/conversations/{conversation_id}/schedule")
def schedule(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    version: Annotated[int, Form()],
    scheduled_on: Annotated[str, Form()] = "",
    scheduled_time: Annotated[str, Form()] = "",
) -> Response:
    def change(conversation: Any) -> None:
        when = calendar.local_time(_day(scheduled_on, "scheduled_on"), scheduled_time)
        conversations.update_fields(
            db,
            actor=actor,
            conversation=conversation,
            version=version,
            changes={"scheduled_at": when},
        )

    return _change(request, db, actor, conversation_id, change)


@router.post("/conversations/{conversation_id}/items")
def add_item(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    title: Annotated[str, Form()] = "",
) -> Response:
    def change(conversation: Any) -> None:
        conversations.add_item(db, actor=actor, conversation=conversation, title=title)

    return _change(request, db, actor, conversation_id, change, anchor="agenda")


@router.post("/conversations/{conversation_id}/items/{item_id}/move")
def move_item(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    item_id: int,
    to: Annotated[int, Form()],
) -> Response:
    def change(conversation: Any) -> None:
        item = conversations.get_item(db, conversation=conversation, item_id=item_id)
        conversations.move_item(db, actor=actor, conversation=conversation, item=item, to=to)

    return _change(request, db, actor, conversation_id, change, anchor=f"item-{item_id}")


@router.post("/conversations/{conversation_id}/items/{item_id}/drop")
def drop_item(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    item_id: int,
    dropped: Annotated[bool, Form()] = True,
) -> Response:
    def change(conversation: Any) -> None:
        item = conversations.get_item(db, conversation=conversation, item_id=item_id)
        conversations.drop_item(
            db, actor=actor, conversation=conversation, item=item, dropped=dropped
        )

    return _change(request, db, actor, conversation_id, change, anchor=f"item-{item_id}")


@router.post("/conversations/{conversation_id}/items/{item_id}/note")
def save_note(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    item_id: int,
    version: Annotated[int, Form()],
    text: Annotated[str, Form()] = "",
) -> Response:
    def change(conversation: Any) -> None:
        item = conversations.get_item(db, conversation=conversation, item_id=item_id)
        conversations.save_note(
            db, actor=actor, conversation=conversation, item=item, text=text, version=version
        )

    return _change(request, db, actor, conversation_id, change, anchor=f"item-{item_id}")


@router.post("/conversations/{conversation_id}/items/{item_id}/impediments")
def add_impediment(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    item_id: int,
    category: Annotated[str, Form()],
    within_control: Annotated[bool, Form()] = False,
    description: Annotated[str, Form()] = "",
) -> Response:
    def change(conversation: Any) -> None:
        item = conversations.get_item(db, conversation=conversation, item_id=item_id)
        impediments.record_impediment(
            db,
            actor=actor,
            conversation=conversation,
            item=item,
            category=category,
            within_control=within_control,
            description=description,
        )

    return _change(request, db, actor, conversation_id, change, anchor=f"item-{item_id}")


@router.post("/conversations/{conversation_id}/actions")
def add_action(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    title: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "seller",
    due_on: Annotated[str, Form()] = "",
    kpi: Annotated[str, Form()] = "",
    competence: Annotated[str, Form()] = "",
) -> Response:
    def change(conversation: Any) -> None:
        due = _day(due_on, "due_on")
        if due is None:
            raise InvalidInput(_("Give a due date."), field="due_on")
        actions.add_action(
            db,
            actor=actor,
            conversation=conversation,
            action_in=actions.ActionIn(title, owner, due, kpi or None, competence),
        )

    return _change(request, db, actor, conversation_id, change, anchor="actions")


@router.post("/action-items/{action_id}/status")
def action_status(
    request: Request,
    db: Db,
    actor: SignedIn,
    action_id: int,
    status: Annotated[str, Form()],
    version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    action = actions.get_action(db, actor=actor, action_id=action_id)
    back = _local_path(
        next, f"/sellers/{record.seller_of(db, action.seller_id).external_id}/coaching"
    )
    try:
        with db.begin_nested():
            actions.set_status(
                db, actor=actor, action=action, status=status, version=version, reason=reason
            )
            refresh_coaching_kpis(db, days=[d for d in (action.due_on, action.closed_on) if d])
    except DomainError as error:
        db.expire_all()
        if back.startswith("/conversations/"):
            conversation_id = int(back.split("/")[2].split("#")[0])
            return _refused(request, db, actor, conversation_id, error, anchor="actions")
        seller = record.seller_of(db, action.seller_id)
        return _seller_page_error(request, db, actor, seller.external_id, error)
    return _back(back)


@router.post("/conversations/{conversation_id}/held")
def hold(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    held_on: Annotated[str, Form()] = "",
) -> Response:
    def change(conversation: Any) -> None:
        conversations.mark_held(
            db, actor=actor, conversation=conversation, held_on=_day(held_on, "held_on")
        )

    return _change(request, db, actor, conversation_id, change, refresh=True)


@router.post("/conversations/{conversation_id}/sign")
def sign(
    request: Request, db: Db, actor: SignedIn, conversation_id: int, version: Annotated[int, Form()]
) -> Response:
    def change(conversation: Any) -> None:
        conversations.sign_off(db, actor=actor, conversation=conversation, version=version)

    return _change(request, db, actor, conversation_id, change, anchor="sign-off", refresh=True)


@router.post("/conversations/{conversation_id}/addenda")
def add_addendum(
    request: Request,
    db: Db,
    actor: SignedIn,
    conversation_id: int,
    text: Annotated[str, Form()] = "",
) -> Response:
    def change(conversation: Any) -> None:
        conversations.add_addendum(db, actor=actor, conversation=conversation, text=text)

    return _change(request, db, actor, conversation_id, change, anchor="addenda")


@router.get("/conversations/{conversation_id}/record.pdf")
def conversation_pdf(
    db: Db, actor: SignedIn, conversation_id: int, private: bool = False
) -> Response:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    found = record.conversation_record(
        db, actor=actor, conversation=conversation, with_private_note=private
    )
    name = f"conversation-{found.seller.external_id}-{conversation.id}.pdf"
    return Response(
        printing.conversation_pdf(found),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
