"""Who may read and write a conversation, and the conflict a stale save becomes.

Anyone who may see the seller (the policy's ``sellers_clause``) may read the shared
record of their conversations. Only the two parties write: the seller, on the seller's
side, and the coach who opened it, on the manager's side. The coach's private note is
for the coach alone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor
from touchline.coaching.models import Conversation, ConversationStatus, Side
from touchline.config import get_settings
from touchline.errors import Conflict, Forbidden, NotFound
from touchline.i18n import gettext as _
from touchline.org.models import Seller


class EditConflict(Conflict):
    """A save made from an older version of a text someone else changed since.

    ``details`` carries both texts (``theirs``, stored now, and ``yours``, the one sent)
    and the current ``version``, for the API's error body and the page.
    """

    def __init__(self, message: str, *, field: str, theirs: str, yours: str, version: int) -> None:
        super().__init__(message, field=field)
        self.details: dict[str, Any] = {"theirs": theirs, "yours": yours, "version": version}


def today() -> date:
    """Return today's date in the company's time zone."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def get_conversation(session: Session, *, actor: Actor, conversation_id: int) -> Conversation:
    """Return the conversation if the actor may see its seller; NotFound otherwise."""
    conversation = session.scalar(
        select(Conversation)
        .join(Seller, Seller.id == Conversation.seller_id)
        .where(Conversation.id == conversation_id, actor.sellers_clause())
    )
    if conversation is None:
        raise NotFound(
            _("There is no conversation %(id)s that you may see.", id=conversation_id),
            field="conversation",
        )
    return conversation


def side_of(actor: Actor, conversation: Conversation) -> Side | None:
    """Return the side the actor writes on, or None when they only read."""
    if actor.user is not None and actor.user.id == conversation.manager_user_id:
        return Side.MANAGER
    if actor.own_seller_id is not None and actor.own_seller_id == conversation.seller_id:
        return Side.SELLER
    return None


def require_party(actor: Actor, conversation: Conversation) -> Side:
    """Return the actor's side; refuses anyone but the two parties with Forbidden."""
    side = side_of(actor, conversation)
    if side is None:
        raise Forbidden(_("Only the seller and the coach who opened the conversation write in it."))
    return side


def require_unlocked(conversation: Conversation) -> None:
    """Refuse a change to a signed-off conversation with Forbidden, pointing to addenda."""
    if conversation.status == ConversationStatus.LOCKED:
        raise Forbidden(
            _(
                "Both parties signed this conversation off, so it is locked. "
                "Add an addendum instead."
            )
        )


def is_coach(actor: Actor, conversation: Conversation) -> bool:
    """True when the actor is the coach who may read and write the private note."""
    return side_of(actor, conversation) is Side.MANAGER


def author_name(actor: Actor) -> str:
    """Return the name a note is signed with."""
    if actor.user is None:
        return "Touchline"
    return actor.user.name or actor.user.email
