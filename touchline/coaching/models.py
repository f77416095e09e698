"""Tables of coaching: cadences, conversations, their agendas, notes, action items,
impediments and addenda.

A conversation is held between a seller and the manager who opened it (its coach). Its
shared record (agenda, notes, reflection, summary) carries a version that every change
raises; the manager's private note is kept apart from that record and never leaves the
coach's own view.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from touchline.db import Base, UtcDateTime, utcnow

DEFAULT_CADENCE_DAYS = 14


class ConversationStatus(StrEnum):
    PLANNED = "planned"  # opened, being prepared by both parties
    HELD = "held"  # took place; notes and summary may still change until both sign
    LOCKED = "locked"  # signed off by both: later remarks are addenda


class Side(StrEnum):
    """The two parties of a conversation."""

    MANAGER = "manager"
    SELLER = "seller"


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class ImpedimentCategory(StrEnum):
    """What hurts performance, after the seeds' list (004)."""

    WORK_ENVIRONMENT = "work_environment"
    JOB_DESIGN = "job_design"
    POLICY = "policy_practice"
    PERSONAL = "personal"
    EXTERNAL = "external"


class CoachingCadence(Base):
    """How often a seller is coached: set on a unit (for everyone below it) or a seller."""

    __tablename__ = "coaching_cadences"
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (seller_id IS NULL)", name="unit_or_seller"),
        CheckConstraint("every_days BETWEEN 1 AND 365", name="every_days"),
        UniqueConstraint("unit_id", "seller_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    every_days: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Conversation(Base):
    """A coaching conversation between a seller and their coach."""

    __tablename__ = "coaching_conversations"
    __table_args__ = (
        CheckConstraint("status IN ('planned', 'held', 'locked')", name="status"),
        Index("ix_coaching_conversations_seller", "seller_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    # The coach: the user who opened the conversation and writes on the manager's side.
    manager_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=ConversationStatus.PLANNED)
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    held_on: Mapped[date | None] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text, default="")
    seller_reflection: Mapped[str] = mapped_column(Text, default="")
    # The version of the shared record: raised by every change to it (fields, agenda,
    # notes, action items); a signature holds for the version signed.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The version at which each field last changed ({"summary": 4}), so a stale save
    # conflicts only when the field it edits changed since.
    field_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Seen and written by the coach alone; outside the shared record and its version.
    private_note: Mapped[str] = mapped_column(Text, default="")
    private_version: Mapped[int] = mapped_column(Integer, default=1)
    manager_signed_version: Mapped[int | None] = mapped_column(Integer)
    manager_signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    seller_signed_version: Mapped[int | None] = mapped_column(Integer)
    seller_signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AgendaItem(Base):
    """One point of a conversation's agenda: drawn from facts, or added by either party.

    ``source`` names the agenda source that proposed it (``off_track_kpi``,
    ``rating_gap``, ``action_item``, ``recognition``, ``low_pulse``, ``seller_topic``,
    ``added``, or one another domain registered); ``facts`` holds what the source found,
    so the title is written in the reader's language when shown.
    """

    __tablename__ = "coaching_agenda_items"
    __table_args__ = (
        Index("ix_coaching_agenda_items_conversation", "conversation_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_conversations.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(40))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Free text of items typed by a person (topics, added items).
    title: Mapped[str] = mapped_column(Text, default="")
    kpi_id: Mapped[int | None] = mapped_column(ForeignKey("kpis.id", ondelete="SET NULL"))
    action_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("coaching_action_items.id", ondelete="SET NULL")
    )
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_by_side: Mapped[str | None] = mapped_column(String(10))
    dropped: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CoachingNote(Base):
    """One party's note on an agenda item, marked with its author and versioned."""

    __tablename__ = "coaching_notes"
    __table_args__ = (UniqueConstraint("agenda_item_id", "side"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_agenda_items.id", ondelete="CASCADE")
    )
    side: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ActionItem(Base):
    """What someone agreed to do: owner, due date, linked KPI or competence, status.

    An open item is carried into the seller's next conversation until it is done or
    dropped; a dropped item keeps its reason.
    """

    __tablename__ = "coaching_action_items"
    __table_args__ = (
        CheckConstraint("owner IN ('manager', 'seller')", name="owner"),
        CheckConstraint("status IN ('open', 'done', 'dropped')", name="status"),
        Index("ix_coaching_action_items_seller", "seller_id", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("coaching_conversations.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(10))
    due_on: Mapped[date] = mapped_column(Date)
    kpi_id: Mapped[int | None] = mapped_column(ForeignKey("kpis.id", ondelete="SET NULL"))
    competence: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default=ActionStatus.OPEN)
    closed_on: Mapped[date | None] = mapped_column(Date)
    drop_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Impediment(Base):
    """Something that hurts the seller's performance, recorded on an agenda item."""

    __tablename__ = "coaching_impediments"
    __table_args__ = (
        CheckConstraint(
            "category IN ('work_environment', 'job_design', 'policy_practice', 'personal', "
            "'external')",
            name="category",
        ),
        Index("ix_coaching_impediments_recorded", "recorded_on", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_agenda_items.id", ondelete="CASCADE"), index=True
    )
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    within_control: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_on: Mapped[date] = mapped_column(Date)


class SellerTopic(Base):
    """A topic the seller (or the coach) wants on the next agenda, before it is opened."""

    __tablename__ = "coaching_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_by_side: Mapped[str] = mapped_column(String(10), default=Side.SELLER)
    # Set once an agenda takes the topic up.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("coaching_conversations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Addendum(Base):
    """A remark added to a locked conversation: it never changes the signed record."""

    __tablename__ = "coaching_addenda"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_conversations.id", ondelete="CASCADE"), index=True
    )
    side: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
