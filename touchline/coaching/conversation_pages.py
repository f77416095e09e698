"""HTML routes of the conversation workspace: the page, its forms and its PDF.

Forms post and redirect back; a refused change renders the page again with the error
(409 with both texts for a stale save) and nothing stored changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from touchline.coaching import actions, conversations, impediments, items, printing, record
from touchline.coaching.access import EditConflict, get_conversation, today
from touchline.coaching.calendar import local_time
from touchline.coaching.kpis import refresh_coaching_kpis
from touchline.coaching.models import ImpedimentCategory
from touchline.coaching.pages import form_day, local_path, see_other, seller_page_error
from touchline.deps import Db, SignedIn
from touchline.errors import DomainError, InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.models import Kpi
from touchline.web.templating import render

router = APIRouter()


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
    return see_other(f"/conversations/{conversation_id}" + (f"#{anchor}" if anchor else ""))


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
        when = local_time(form_day(scheduled_on, "scheduled_on"), scheduled_time)
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
        items.add_item(db, actor=actor, conversation=conversation, title=title)

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
        item = items.get_item(db, conversation=conversation, item_id=item_id)
        items.move_item(db, actor=actor, conversation=conversation, item=item, to=to)

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
        item = items.get_item(db, conversation=conversation, item_id=item_id)
        items.drop_item(db, actor=actor, conversation=conversation, item=item, dropped=dropped)

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
        item = items.get_item(db, conversation=conversation, item_id=item_id)
        items.save_note(
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
        item = items.get_item(db, conversation=conversation, item_id=item_id)
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
        due = form_day(due_on, "due_on")
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
    back = local_path(
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
        return seller_page_error(request, db, actor, seller.external_id, error)
    return see_other(back)


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
            db, actor=actor, conversation=conversation, held_on=form_day(held_on, "held_on")
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
