"""API shapes of coaching: conversations, agenda items, notes, action items, impediments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from touchline.coaching.models import ActionItem, ImpedimentCategory, Side
from touchline.coaching.record import ConversationRecord, ItemView


class NoteRead(BaseModel):
    side: str
    author: str
    text: str
    version: int
    updated_at: datetime


class ImpedimentRead(BaseModel):
    id: int
    category: str
    within_control: bool
    description: str
    recorded_on: date


class ActionRead(BaseModel):
    id: int
    seller: str
    conversation_id: int | None
    title: str
    owner: str
    due_on: date
    kpi: str | None
    competence: str
    status: str
    closed_on: date | None
    drop_reason: str
    version: int


class AgendaItemRead(BaseModel):
    id: int
    position: int
    source: str
    title: str
    detail: str
    kpi: str | None
    facts: dict[str, Any]
    added_by_side: str | None
    dropped: bool
    action_item: ActionRead | None
    notes: list[NoteRead]
    impediments: list[ImpedimentRead]


class AddendumRead(BaseModel):
    side: str
    author: str
    text: str
    created_at: datetime


class ConversationRead(BaseModel):
    """A conversation as the caller may see it; ``private_note`` is null for everyone but
    the coach."""

    id: int
    seller: str
    seller_name: str
    coach: str
    status: str
    scheduled_at: datetime | None
    held_on: date | None
    version: int
    summary: str
    seller_reflection: str
    your_side: str | None
    private_note: str | None
    private_version: int | None
    manager_signed_version: int | None
    seller_signed_version: int | None
    locked_at: datetime | None
    agenda: list[AgendaItemRead]
    action_items: list[ActionRead]
    addenda: list[AddendumRead]


class ConversationSummary(BaseModel):
    id: int
    status: str
    scheduled_at: datetime | None
    held_on: date | None
    version: int


class ConversationOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheduled_at: AwareDatetime | None = None


class ConversationUpdate(BaseModel):
    """Fields left out stay; ``version`` is the version the change was made from (for the
    private note, ``private_version``)."""

    model_config = ConfigDict(extra="forbid")

    version: int
    summary: str | None = Field(default=None, max_length=20_000)
    seller_reflection: str | None = Field(default=None, max_length=20_000)
    scheduled_at: AwareDatetime | None = None
    private_note: str | None = Field(default=None, max_length=20_000)
    private_version: int | None = None


class HeldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: date | None = None


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=20_000)


class AgendaItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)


class AgendaItemUpdate(BaseModel):
    """Move the item (``position``, 0 first) or drop it or take it back (``dropped``)."""

    model_config = ConfigDict(extra="forbid")

    position: int | None = Field(default=None, ge=0)
    dropped: bool | None = None


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=20_000)
    version: int = Field(ge=0)


class ActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    owner: Side
    due_on: date
    kpi: str | None = None
    competence: str = Field(default="", max_length=200)


class ActionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    version: int
    reason: str = Field(default="", max_length=2000)


class ImpedimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: ImpedimentCategory
    within_control: bool
    description: str = Field(default="", max_length=20_000)


class CadenceIn(BaseModel):
    """``every_days`` null removes an own cadence, so the unit's holds again."""

    model_config = ConfigDict(extra="forbid")

    every_days: int | None = Field(ge=1, le=365)


class CadenceRead(BaseModel):
    seller: str
    every_days: int
    own: bool
    last_held_on: date | None
    due_on: date
    state: str


class DueRead(BaseModel):
    seller: str
    name: str
    state: str
    due_on: date
    overdue_days: int
    last_held_on: date | None
    cadence_days: int
    planned_conversation: int | None
    off_track: list[str]
    falling: list[str]
    overdue_actions: int


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=500)


class TimelineRead(BaseModel):
    day: date
    kind: str
    title: str
    detail: str
    link: str


class ImpedimentsRead(BaseModel):
    months: list[str]
    counts: dict[str, list[int]]
    within_control: dict[str, int]
    total: int


def action_read(action: ActionItem, seller: str, kpi_code: str | None) -> ActionRead:
    """Return the API shape of an action item."""
    return ActionRead(
        id=action.id,
        seller=seller,
        conversation_id=action.conversation_id,
        title=action.title,
        owner=action.owner,
        due_on=action.due_on,
        kpi=kpi_code,
        competence=action.competence,
        status=action.status,
        closed_on=action.closed_on,
        drop_reason=action.drop_reason,
        version=action.version,
    )


def _item_read(view: ItemView, record: ConversationRecord) -> AgendaItemRead:
    seller = record.seller.external_id
    action = view.action
    return AgendaItemRead(
        id=view.item.id,
        position=view.item.position,
        source=view.item.source,
        title=view.described.title,
        detail=view.described.detail,
        kpi=view.kpi.code if view.kpi else None,
        facts=view.item.facts,
        added_by_side=view.item.added_by_side,
        dropped=view.item.dropped,
        action_item=action_read(
            action,
            seller,
            record.kpis[action.kpi_id].code if action.kpi_id in record.kpis else None,
        )
        if action is not None
        else None,
        notes=[
            NoteRead(
                side=note.side,
                author=note.author_name,
                text=note.text,
                version=note.version,
                updated_at=note.updated_at,
            )
            for note in view.notes.values()
        ],
        impediments=[
            ImpedimentRead(
                id=i.id,
                category=i.category,
                within_control=i.within_control,
                description=i.description,
                recorded_on=i.recorded_on,
            )
            for i in view.impediments
        ],
    )


def conversation_read(record: ConversationRecord) -> ConversationRead:
    """Return the API shape of a conversation record (its private note as the record has it)."""
    conversation = record.conversation
    coach_reads = record.private_note is not None
    return ConversationRead(
        id=conversation.id,
        seller=record.seller.external_id,
        seller_name=record.seller.name,
        coach=record.coach_name,
        status=conversation.status,
        scheduled_at=conversation.scheduled_at,
        held_on=conversation.held_on,
        version=conversation.version,
        summary=conversation.summary,
        seller_reflection=conversation.seller_reflection,
        your_side=record.side.value if record.side else None,
        private_note=record.private_note,
        private_version=conversation.private_version if coach_reads else None,
        manager_signed_version=conversation.manager_signed_version,
        seller_signed_version=conversation.seller_signed_version,
        locked_at=conversation.locked_at,
        agenda=[_item_read(view, record) for view in record.items],
        action_items=[
            action_read(
                a,
                record.seller.external_id,
                record.kpis[a.kpi_id].code if a.kpi_id in record.kpis else None,
            )
            for a in record.actions
        ],
        addenda=[
            AddendumRead(side=a.side, author=a.author_name, text=a.text, created_at=a.created_at)
            for a in record.addenda
        ],
    )
