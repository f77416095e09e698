"""Conversations: opening one (with its agenda drawn from facts), editing its shared
record safely, the agenda either party shapes, notes per item, holding and signing off.

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
    side_of,
    today,
)
from touchline.coaching.models import (
    Addendum,
    AgendaItem,
    CoachingNote,
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


def _text(value: str, field: str, *, limit: int = MAX_TEXT, required: bool = False) -> str:
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


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
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
    _audit(
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
            value = _text(str(value or ""), name)
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
        _audit(
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
    text = _text(text, "private_note")
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
    _audit(
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
    _audit(session, actor, "hold", "conversation", conversation.id, before, {"held_on": day})
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
    _audit(
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
        text=_text(text, "text", required=True),
    )
    session.add(addendum)
    session.flush()
    _audit(
        session, actor, "add", "conversation_addendum", addendum.id, None, {"text": addendum.text}
    )
    return addendum


# --- the agenda -----------------------------------------------------------------------------


def get_item(session: Session, *, conversation: Conversation, item_id: int) -> AgendaItem:
    """Return the conversation's agenda item ``item_id``; NotFound otherwise."""
    item = session.scalar(
        select(AgendaItem).where(
            AgendaItem.id == item_id, AgendaItem.conversation_id == conversation.id
        )
    )
    if item is None:
        raise NotFound(_("This conversation has no agenda item %(id)s.", id=item_id), field="item")
    return item


def add_item(
    session: Session, *, actor: Actor, conversation: Conversation, title: str
) -> AgendaItem:
    """Add an item typed by either party at the end of the agenda."""
    side = require_party(actor, conversation)
    require_unlocked(conversation)
    last = session.scalar(
        select(func.max(AgendaItem.position)).where(AgendaItem.conversation_id == conversation.id)
    )
    item = AgendaItem(
        conversation_id=conversation.id,
        position=(last if last is not None else -1) + 1,
        source="added",
        facts={},
        title=_text(title, "title", limit=MAX_TITLE, required=True),
        added_by_id=actor.user.id if actor.user else None,
        added_by_side=side,
    )
    session.add(item)
    touch(conversation)
    session.flush()
    _audit(session, actor, "add", "agenda_item", item.id, None, {"title": item.title})
    return item


def move_item(
    session: Session, *, actor: Actor, conversation: Conversation, item: AgendaItem, to: int
) -> None:
    """Put ``item`` at position ``to`` (0 is first) and renumber the agenda."""
    require_party(actor, conversation)
    require_unlocked(conversation)
    items = list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.conversation_id == conversation.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )
    if not 0 <= to < len(items):
        raise InvalidInput(
            _("Give a position from 1 to %(count)s.", count=len(items)), field="position"
        )
    before = items.index(item)
    items.remove(item)
    items.insert(to, item)
    for position, each in enumerate(items):
        each.position = position
    touch(conversation)
    session.flush()
    _audit(session, actor, "move", "agenda_item", item.id, {"position": before}, {"position": to})


def drop_item(
    session: Session,
    *,
    actor: Actor,
    conversation: Conversation,
    item: AgendaItem,
    dropped: bool = True,
) -> None:
    """Drop an item from the agenda (it stays visible as dropped), or take it back."""
    require_party(actor, conversation)
    require_unlocked(conversation)
    if item.dropped == dropped:
        return
    item.dropped = dropped
    touch(conversation)
    session.flush()
    _audit(
        session,
        actor,
        "drop",
        "agenda_item",
        item.id,
        {"dropped": not dropped},
        {"dropped": dropped},
    )


def save_note(
    session: Session,
    *,
    actor: Actor,
    conversation: Conversation,
    item: AgendaItem,
    text: str,
    version: int,
) -> CoachingNote:
    """Save the actor's side's note on ``item``, made from the note's ``version``
    (0 for a new note); refuses a stale version with EditConflict and both texts."""
    side = require_party(actor, conversation)
    require_unlocked(conversation)
    text = _text(text, "text")
    note = session.scalar(
        select(CoachingNote).where(
            CoachingNote.agenda_item_id == item.id, CoachingNote.side == side
        )
    )
    current = note.version if note is not None else 0
    if version != current and (note is None or note.text != text):
        raise EditConflict(
            _(
                "This note was changed elsewhere since you opened it. Both texts are "
                "shown: keep one, or merge them and save again."
            ),
            field="text",
            theirs=note.text if note is not None else "",
            yours=text,
            version=current,
        )
    before = {"text": note.text} if note is not None else None
    if note is None:
        note = CoachingNote(agenda_item_id=item.id, side=side, version=0, text="")
        session.add(note)
    if note.text == text and before is not None:
        return note
    note.text = text
    note.version += 1
    note.author_id = actor.user.id if actor.user else None
    note.author_name = author_name(actor)
    note.updated_at = utcnow()
    touch(conversation)
    session.flush()
    _audit(
        session, actor, "edit", "coaching_note", note.id, before, {"text": text, "side": side.value}
    )
    return note


def writable_side(actor: Actor, conversation: Conversation) -> Side | None:
    """Return the side the actor may write on now (None when reading only or locked)."""
    if conversation.status == ConversationStatus.LOCKED:
        return None
    return side_of(actor, conversation)
