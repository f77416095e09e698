"""The agenda either party shapes (add, move, drop items) and the notes per item.

Like every change to a conversation, each raises its version and is audited; a note
saved from an older version of itself is refused with both texts (``EditConflict``).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor
from touchline.coaching.access import (
    EditConflict,
    author_name,
    require_party,
    require_unlocked,
    side_of,
)
from touchline.coaching.conversations import MAX_TITLE, checked_text, record_change, touch
from touchline.coaching.models import (
    AgendaItem,
    CoachingNote,
    Conversation,
    ConversationStatus,
    Side,
)
from touchline.db import utcnow
from touchline.errors import InvalidInput, NotFound
from touchline.i18n import gettext as _


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
        title=checked_text(title, "title", limit=MAX_TITLE, required=True),
        added_by_id=actor.user.id if actor.user else None,
        added_by_side=side,
    )
    session.add(item)
    touch(conversation)
    session.flush()
    record_change(session, actor, "add", "agenda_item", item.id, None, {"title": item.title})
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
    record_change(
        session, actor, "move", "agenda_item", item.id, {"position": before}, {"position": to}
    )


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
    record_change(
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
    text = checked_text(text, "text")
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
    record_change(
        session, actor, "edit", "coaching_note", note.id, before, {"text": text, "side": side.value}
    )
    return note


def writable_side(actor: Actor, conversation: Conversation) -> Side | None:
    """Return the side the actor may write on now (None when reading only or locked)."""
    if conversation.status == ConversationStatus.LOCKED:
        return None
    return side_of(actor, conversation)
