"""Conversations: opening one (with its agenda drawn from facts), editing its shared
record safely, holding and signing off, addenda. The agenda items and their notes are in
``items.py``.

Every change raises the conversation's version and is in the audit log. A save names the
version it was made from: when the text it changes was changed since, the save is
refused with both texts (``EditConflict``, 409) and nothing is stored. Once both parties
have signed off the same version the conversation is locked; remarks after that are
addenda. The coach's private note has its own version and never enters the audit log as
text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.policy import Actor
from touchline.coaching import agenda
from touchline.coaching.access import (
    EditConflict,
    author_name,
    require_party,
    require_unlocked,
    today,
)
from touchline.coaching.models import (
    Addendum,
    Conversation,
    ConversationStatus,
    Side,
)
from touchline.db import utcnow
from touchline.errors import Conflict, Forbidden, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.org.models import Seller

MAX_TEXT = 20_000
MAX_TITLE = 500
# Which side may write each field of the shared record; the private note is the coach's.
FIELD_SIDES = {
    "summary": (Side.MANAGER, Side.SELLER),
    "seller_reflection": (Side.SELLER,),
    "scheduled_at": (Side.MANAGER,),
}


def checked_text(value: str, field: str, *, limit: int = MAX_TEXT, required: bool = False) -> str:
    """Return ``value`` stripped; refuses an empty required text or one over ``limit``."""
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(_("Write something first."), field=field)
    if len(cleaned) > limit:
        raise InvalidInput(
            _("At most %(limit)s characters, not %(count)s.", limit=limit, count=len(cleaned)),
            field=field,
        )
    return cleaned


def touch(conversation: Conversation, field: str | None = None) -> None:
    """Raise the version of the shared record (noting which field changed)."""
    conversation.version += 1
    if field is not None:
        conversation.field_versions = {**conversation.field_versions, field: conversation.version}
    conversation.updated_at = utcnow()


def record_change(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Add the change to the audit log, under the acting user."""
    audit.record(
        session,
        actor=actor.user,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )


# --- opening and listing ---------------------------------------------------------------


def open_conversation(
    session: Session,
    *,
    actor: Actor,
    seller: Seller,
    scheduled_at: datetime | None = None,
    on: date | None = None,
) -> Conversation:
    """Open a conversation with ``seller``, coached by the actor, and draw its agenda.

    Refuses a seller the actor does not manage (NotFound), and a second conversation
    while one is being prepared (Conflict).
    """
    if not actor.can_manage_seller(seller) or actor.user is None:
        raise NotFound(
            _("No seller %(id)s that you may see.", id=repr(seller.external_id)), field="seller"
        )
    if scheduled_at is not None and scheduled_at.tzinfo is None:
        raise InvalidInput(_("Give the time with its offset or as UTC."), field="scheduled_at")
    waiting = session.scalar(
        select(Conversation.id).where(
            Conversation.seller_id == seller.id,
            Conversation.status == ConversationStatus.PLANNED,
        )
    )
    if waiting is not None:
        raise Conflict(
            _(
                "A conversation with %(name)s is already being prepared (number %(id)s); "
                "hold it before opening the next.",
                name=seller.name,
                id=waiting,
            ),
            field="seller",
        )
    conversation = Conversation(
        seller_id=seller.id,
        manager_user_id=actor.user.id,
        status=ConversationStatus.PLANNED,
        scheduled_at=scheduled_at,
        version=1,
        field_versions={},
    )
    session.add(conversation)
    session.flush()
    context = agenda.AgendaContext(session, actor, seller, conversation, on or today())
    items = agenda.propose_agenda(context)
    record_change(
        session,
        actor,
        "open",
        "conversation",
        conversation.id,
        None,
        {
            "seller": seller.external_id,
            "scheduled_at": scheduled_at,
            "agenda": [item.source for item in items],
        },
    )
    return conversation


def conversations_of(session: Session, *, actor: Actor, seller: Seller) -> list[Conversation]:
    """Return the seller's conversations, newest first; NotFound for a seller one may not see."""
    if not actor.can_see_seller(seller):
        raise NotFound(
            _("No seller %(id)s that you may see.", id=repr(seller.external_id)), field="seller"
        )
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.seller_id == seller.id)
            .order_by(
                func.coalesce(Conversation.held_on, func.date(Conversation.created_at)).desc(),
                Conversation.id.desc(),
            )
        )
    )


# --- the shared record and the private note ----------------------------------------------


def update_fields(
    session: Session,
    *,
    actor: Actor,
    conversation: Conversation,
    version: int,
    changes: dict[str, Any],
) -> Conversation:
    """Change the summary, the reflection, the planned time or the private note.

    ``version`` is the version the change was made from (for the private note, the
    private note's own). Refuses a field the actor's side may not write (Forbidden), a
    locked conversation (Forbidden), and a field changed by someone since ``version``
    (EditConflict, with both texts).
    """
    side = require_party(actor, conversation)
    require_unlocked(conversation)
    unknown = sorted(set(changes) - {*FIELD_SIDES, "private_note"})
    if unknown:
        raise InvalidInput(_("No field %(name)s here.", name=unknown[0]), field=unknown[0])
    for name, value in changes.items():
        if name == "private_note":
            _private_note(session, actor, conversation, side, version, str(value or ""))
            continue
        if side not in FIELD_SIDES[name]:
            raise Forbidden(_("The other party writes this part."))
        changed_at = int(conversation.field_versions.get(name, 0))
        current = getattr(conversation, name)
        if name == "scheduled_at":
            if value is not None and value.tzinfo is None:
                raise InvalidInput(_("Give the time with its offset or as UTC."), field=name)
        else:
            value = checked_text(str(value or ""), name)
        if changed_at > version and current != value:
            raise EditConflict(
                _(
                    "Someone changed this since you opened it (version %(yours)s; it is "
                    "now %(theirs)s). Both texts are shown: keep one, or merge them and "
                    "save again.",
                    yours=version,
                    theirs=conversation.version,
                ),
                field=name,
                theirs=str(current or ""),
                yours=str(value or ""),
                version=conversation.version,
            )
        if current == value:
            continue
        setattr(conversation, name, value)
        touch(conversation, name)
        record_change(
            session, actor, "edit", "conversation", conversation.id, {name: current}, {name: value}
        )
    session.flush()
    return conversation


def _private_note(
    session: Session,
    actor: Actor,
    conversation: Conversation,
    side: Side,
    version: int,
    text: str,
) -> None:
    if side is not Side.MANAGER:
        raise Forbidden(_("The private note is the coach's alone."))
    text = checked_text(text, "private_note")
    if version != conversation.private_version and text != conversation.private_note:
        raise EditConflict(
            _(
                "Your private note was changed elsewhere since you opened it. Both texts "
                "are shown: keep one, or merge them and save again."
            ),
            field="private_note",
            theirs=conversation.private_note,
            yours=text,
            version=conversation.private_version,
        )
    if text == conversation.private_note:
        return
    before = len(conversation.private_note)
    conversation.private_note = text
    conversation.private_version += 1
    # The text stays out of the audit log: it is the coach's alone.
    record_change(
        session,
        actor,
        "edit",
        "conversation",
        conversation.id,
        {"private_note": f"({before} characters)"},
        {"private_note": f"({len(text)} characters)"},
    )


def mark_held(
    session: Session, *, actor: Actor, conversation: Conversation, held_on: date | None = None
) -> Conversation:
    """Record that the conversation took place on ``held_on`` (today by default).

    Only the coach marks it; refuses a date in the future with InvalidInput.
    """
    if require_party(actor, conversation) is not Side.MANAGER:
        raise Forbidden(_("The coach records when the conversation took place."))
    require_unlocked(conversation)
    day = held_on or today()
    if day > today():
        raise InvalidInput(_("A conversation cannot be held in the future."), field="held_on")
    before = {"status": conversation.status, "held_on": conversation.held_on}
    conversation.status = ConversationStatus.HELD
    conversation.held_on = day
    touch(conversation, "held_on")
    record_change(session, actor, "hold", "conversation", conversation.id, before, {"held_on": day})
    session.flush()
    return conversation


def sign_off(
    session: Session, *, actor: Actor, conversation: Conversation, version: int
) -> Conversation:
    """Sign the conversation off as it stands at ``version``; locks it once both did.

    Signing a conversation not yet marked as held marks it held today. Refuses a stale
    ``version`` (Conflict: read what changed first) and a locked conversation.
    """
    side = require_party(actor, conversation)
    require_unlocked(conversation)
    if version != conversation.version:
        raise Conflict(
            _(
                "The conversation changed since you read it (version %(yours)s; it is now "
                "%(theirs)s). Read it again before you sign.",
                yours=version,
                theirs=conversation.version,
            ),
            field="version",
        )
    if conversation.held_on is None:
        conversation.held_on = today()
        conversation.status = ConversationStatus.HELD
    if conversation.status == ConversationStatus.PLANNED:
        conversation.status = ConversationStatus.HELD
    now = utcnow()
    if side is Side.MANAGER:
        conversation.manager_signed_version, conversation.manager_signed_at = version, now
    else:
        conversation.seller_signed_version, conversation.seller_signed_at = version, now
    if conversation.manager_signed_version == conversation.seller_signed_version == version:
        conversation.status = ConversationStatus.LOCKED
        conversation.locked_at = now
    record_change(
        session,
        actor,
        "sign",
        "conversation",
        conversation.id,
        None,
        {"side": side.value, "version": version, "status": conversation.status},
    )
    session.flush()
    return conversation


def add_addendum(
    session: Session, *, actor: Actor, conversation: Conversation, text: str
) -> Addendum:
    """Add a remark to a locked conversation; before the lock, edit the record instead."""
    side = require_party(actor, conversation)
    if conversation.status != ConversationStatus.LOCKED:
        raise InvalidInput(
            _("Addenda are for signed-off conversations; edit this one directly."), field="text"
        )
    addendum = Addendum(
        conversation_id=conversation.id,
        side=side,
        author_id=actor.user.id if actor.user else None,
        author_name=author_name(actor),
        text=checked_text(text, "text", required=True),
    )
    session.add(addendum)
    session.flush()
    record_change(
        session, actor, "add", "conversation_addendum", addendum.id, None, {"text": addendum.text}
    )
    return addendum
