"""JSON routes of coaching: conversations, agenda items, notes, action items, impediments,
cadences, topics and timelines, under the visibility policy.

A conversation is returned through ``conversation_read`` of its record alone, so the
coach's private note reaches no one but the coach.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from touchline.coaching import (
    actions,
    cadence,
    conversations,
    impediments,
    items,
    record,
    timeline,
)
from touchline.coaching.access import get_conversation, today
from touchline.coaching.kpis import refresh_coaching_kpis
from touchline.coaching.models import AgendaItem
from touchline.coaching.schemas import (
    ActionCreate,
    ActionRead,
    ActionUpdate,
    AgendaItemIn,
    AgendaItemUpdate,
    CadenceIn,
    CadenceRead,
    ConversationOpen,
    ConversationRead,
    ConversationSummary,
    ConversationUpdate,
    DueRead,
    HeldIn,
    ImpedimentCreate,
    ImpedimentRead,
    ImpedimentsRead,
    NoteIn,
    NoteRead,
    SignIn,
    TextIn,
    TimelineRead,
    TopicIn,
    action_read,
    conversation_read,
)
from touchline.deps import Db, ManagerUp, SignedIn
from touchline.errors import InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis.models import Kpi
from touchline.org import service as org
from touchline.org.models import Seller

router = APIRouter(prefix="/api/v1", tags=["coaching"])


def _read(db: Db, actor: SignedIn, conversation_id: int) -> ConversationRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    return conversation_read(record.conversation_record(db, actor=actor, conversation=conversation))


@router.get("/coaching/due")
def due(db: Db, actor: ManagerUp, everyone: bool = False, unit: str | None = None) -> list[DueRead]:
    unit_id = org.get_unit(db, actor=actor, external_id=unit).id if unit else None
    day = today()
    return [
        DueRead(
            seller=state.seller.external_id,
            name=state.seller.name,
            state=state.state(day),
            due_on=state.due_on,
            overdue_days=state.overdue_days(day),
            last_held_on=state.last_held_on,
            cadence_days=state.cadence_days,
            planned_conversation=state.planned_id,
            off_track=state.off_track,
            falling=state.falling,
            overdue_actions=state.overdue_actions,
        )
        for state in cadence.due_list(db, actor=actor, everyone=everyone, unit_id=unit_id)
    ]


@router.get("/sellers/{external_id}/conversations")
def list_conversations(db: Db, actor: SignedIn, external_id: str) -> list[ConversationSummary]:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    return [
        ConversationSummary(
            id=c.id,
            status=c.status,
            scheduled_at=c.scheduled_at,
            held_on=c.held_on,
            version=c.version,
        )
        for c in conversations.conversations_of(db, actor=actor, seller=seller)
    ]


@router.post("/sellers/{external_id}/conversations", status_code=201)
def open_conversation(
    db: Db, actor: ManagerUp, external_id: str, conversation_in: ConversationOpen
) -> ConversationRead:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    opened = conversations.open_conversation(
        db, actor=actor, seller=seller, scheduled_at=conversation_in.scheduled_at
    )
    return _read(db, actor, opened.id)


@router.get("/conversations/{conversation_id}")
def get_conversation_route(db: Db, actor: SignedIn, conversation_id: int) -> ConversationRead:
    return _read(db, actor, conversation_id)


@router.patch("/conversations/{conversation_id}")
def update_conversation(
    db: Db, actor: SignedIn, conversation_id: int, update: ConversationUpdate
) -> ConversationRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    shared: dict[str, Any] = {
        name: value
        for name in ("summary", "seller_reflection", "scheduled_at")
        if (value := getattr(update, name)) is not None
    }
    if shared:
        conversations.update_fields(
            db, actor=actor, conversation=conversation, version=update.version, changes=shared
        )
    if update.private_note is not None:
        if update.private_version is None:
            raise InvalidInput(
                _("Send the private note's own version with it."), field="private_version"
            )
        conversations.update_fields(
            db,
            actor=actor,
            conversation=conversation,
            version=update.private_version,
            changes={"private_note": update.private_note},
        )
    return _read(db, actor, conversation_id)


@router.post("/conversations/{conversation_id}/held")
def hold(db: Db, actor: SignedIn, conversation_id: int, held_in: HeldIn) -> ConversationRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    conversations.mark_held(db, actor=actor, conversation=conversation, held_on=held_in.held_on)
    refresh_coaching_kpis(db, days=[conversation.held_on] if conversation.held_on else [])
    return _read(db, actor, conversation_id)


@router.post("/conversations/{conversation_id}/sign")
def sign(db: Db, actor: SignedIn, conversation_id: int, sign_in: SignIn) -> ConversationRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    conversations.sign_off(db, actor=actor, conversation=conversation, version=sign_in.version)
    refresh_coaching_kpis(db, days=[conversation.held_on] if conversation.held_on else [])
    return _read(db, actor, conversation_id)


@router.post("/conversations/{conversation_id}/addenda", status_code=201)
def add_addendum(
    db: Db, actor: SignedIn, conversation_id: int, addendum_in: TextIn
) -> ConversationRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    conversations.add_addendum(db, actor=actor, conversation=conversation, text=addendum_in.text)
    return _read(db, actor, conversation_id)


@router.post("/conversations/{conversation_id}/agenda-items", status_code=201)
def add_agenda_item(
    db: Db, actor: SignedIn, conversation_id: int, item_in: AgendaItemIn
) -> ConversationRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    items.add_item(db, actor=actor, conversation=conversation, title=item_in.title)
    return _read(db, actor, conversation_id)


@router.patch("/conversations/{conversation_id}/agenda-items/{item_id}")
def update_agenda_item(
    db: Db, actor: SignedIn, conversation_id: int, item_id: int, update: AgendaItemUpdate
) -> ConversationRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    item = items.get_item(db, conversation=conversation, item_id=item_id)
    if update.position is not None:
        items.move_item(db, actor=actor, conversation=conversation, item=item, to=update.position)
    if update.dropped is not None:
        items.drop_item(
            db, actor=actor, conversation=conversation, item=item, dropped=update.dropped
        )
    return _read(db, actor, conversation_id)


@router.put("/conversations/{conversation_id}/agenda-items/{item_id}/note")
def save_note(
    db: Db, actor: SignedIn, conversation_id: int, item_id: int, note_in: NoteIn
) -> NoteRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    item = items.get_item(db, conversation=conversation, item_id=item_id)
    note = items.save_note(
        db,
        actor=actor,
        conversation=conversation,
        item=item,
        text=note_in.text,
        version=note_in.version,
    )
    return NoteRead(
        side=note.side,
        author=note.author_name,
        text=note.text,
        version=note.version,
        updated_at=note.updated_at,
    )


@router.post("/conversations/{conversation_id}/agenda-items/{item_id}/impediments", status_code=201)
def add_impediment(
    db: Db, actor: SignedIn, conversation_id: int, item_id: int, impediment_in: ImpedimentCreate
) -> ImpedimentRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    item = items.get_item(db, conversation=conversation, item_id=item_id)
    found = impediments.record_impediment(
        db,
        actor=actor,
        conversation=conversation,
        item=item,
        category=impediment_in.category,
        within_control=impediment_in.within_control,
        description=impediment_in.description,
    )
    return ImpedimentRead(
        id=found.id,
        category=found.category,
        within_control=found.within_control,
        description=found.description,
        recorded_on=found.recorded_on,
    )


@router.post("/conversations/{conversation_id}/action-items", status_code=201)
def add_action(
    db: Db, actor: SignedIn, conversation_id: int, action_in: ActionCreate
) -> ActionRead:
    conversation = get_conversation(db, actor=actor, conversation_id=conversation_id)
    action = actions.add_action(
        db,
        actor=actor,
        conversation=conversation,
        action_in=actions.ActionIn(
            action_in.title, action_in.owner, action_in.due_on, action_in.kpi, action_in.competence
        ),
    )
    return action_read(action, record.seller_of(db, action.seller_id).external_id, action_in.kpi)


@router.get("/sellers/{external_id}/action-items")
def list_actions(
    db: Db, actor: SignedIn, external_id: str, status: str | None = None
) -> list[ActionRead]:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    codes = {row.id: row.code for row in db.execute(select(Kpi.id, Kpi.code))}
    return [
        action_read(a, seller.external_id, codes.get(a.kpi_id) if a.kpi_id else None)
        for a in actions.actions_of(db, actor=actor, seller=seller, status=status)
    ]


@router.patch("/action-items/{action_id}")
def update_action(db: Db, actor: SignedIn, action_id: int, update: ActionUpdate) -> ActionRead:
    action = actions.get_action(db, actor=actor, action_id=action_id)
    actions.set_status(
        db,
        actor=actor,
        action=action,
        status=update.status,
        version=update.version,
        reason=update.reason,
    )
    refresh_coaching_kpis(db, days=[d for d in (action.due_on, action.closed_on) if d])
    seller = record.seller_of(db, action.seller_id)
    code = db.scalar(select(Kpi.code).where(Kpi.id == action.kpi_id)) if action.kpi_id else None
    return action_read(action, seller.external_id, code)


@router.get("/sellers/{external_id}/cadence")
def get_cadence(db: Db, actor: SignedIn, external_id: str) -> CadenceRead:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    return _cadence_read(db, seller)


@router.put("/sellers/{external_id}/cadence")
def set_seller_cadence(
    db: Db, actor: ManagerUp, external_id: str, cadence_in: CadenceIn
) -> CadenceRead:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    cadence.set_seller_cadence(db, actor=actor, seller=seller, every_days=cadence_in.every_days)
    return _cadence_read(db, seller)


@router.put("/units/{external_id}/cadence")
def set_unit_cadence(
    db: Db, actor: ManagerUp, external_id: str, cadence_in: CadenceIn
) -> dict[str, object]:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    cadence.set_unit_cadence(db, actor=actor, unit=unit, every_days=cadence_in.every_days)
    return {"unit": unit.external_id, "every_days": cadence_in.every_days}


def _cadence_read(db: Db, seller: Seller) -> CadenceRead:
    every, own = cadence.own_cadence(db, seller=seller)
    state = cadence.coaching_states(db, [seller], today=today())[0]
    return CadenceRead(
        seller=seller.external_id,
        every_days=every,
        own=own,
        last_held_on=state.last_held_on,
        due_on=state.due_on,
        state=state.state(today()),
    )


@router.post("/sellers/{external_id}/topics", status_code=201)
def add_topic(db: Db, actor: SignedIn, external_id: str, topic_in: TopicIn) -> dict[str, object]:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    added = record.add_topic(db, actor=actor, seller=seller, text=topic_in.text)
    on_agenda = added.conversation_id if isinstance(added, AgendaItem) else None
    return {"seller": seller.external_id, "text": topic_in.text, "conversation_id": on_agenda}


@router.get("/sellers/{external_id}/timeline")
def get_timeline(db: Db, actor: SignedIn, external_id: str) -> list[TimelineRead]:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    return [
        TimelineRead(day=e.day, kind=e.kind, title=e.title, detail=e.detail, link=e.link)
        for e in timeline.seller_timeline(db, actor=actor, seller=seller)
    ]


@router.get("/coaching/impediments")
def impediment_report(
    db: Db, actor: ManagerUp, months: int = 12, unit: str | None = None
) -> ImpedimentsRead:
    if not 1 <= months <= 60:
        raise InvalidInput(_("Ask for 1 to 60 months."), field="months")
    unit_id = org.get_unit(db, actor=actor, external_id=unit).id if unit else None
    report = impediments.impediment_report(db, actor=actor, months=months, unit_id=unit_id)
    return ImpedimentsRead(
        months=report.months,
        counts=report.counts,
        within_control=report.within_control,
        total=report.total,
    )
