"""A conversation as one reader may see it: the one data path of its page, its JSON, its
PDF and the timeline.

The coach's private note is put into the record only for the coach, and only when asked
for; every other reader (the seller above all) gets ``private_note`` None, whatever route
they come by.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.models import User
from touchline.auth.policy import Actor
from touchline.coaching.access import is_coach, side_of, today
from touchline.coaching.agenda import Described, describe
from touchline.coaching.impediments import impediments_of_items
from touchline.coaching.models import (
    ActionItem,
    Addendum,
    AgendaItem,
    CoachingNote,
    Conversation,
    ConversationStatus,
    Impediment,
    SellerTopic,
    Side,
)
from touchline.errors import InvalidInput
from touchline.i18n import gettext as _
from touchline.kpis.models import Kpi
from touchline.org.models import Seller


@dataclass
class ItemView:
    """An agenda item with its notes and impediments."""

    item: AgendaItem
    described: Described
    kpi: Kpi | None
    notes: dict[str, CoachingNote] = field(default_factory=dict)
    impediments: list[Impediment] = field(default_factory=list)
    action: ActionItem | None = None


@dataclass
class ConversationRecord:
    """Everything of a conversation the reader may see."""

    conversation: Conversation
    seller: Seller
    coach_name: str
    items: list[ItemView]
    actions: list[ActionItem]
    addenda: list[Addendum]
    side: Side | None
    # None unless the reader is the coach and asked for it.
    private_note: str | None
    kpis: dict[int, Kpi]

    @property
    def locked(self) -> bool:
        return self.conversation.status == ConversationStatus.LOCKED

    @property
    def may_write(self) -> bool:
        return self.side is not None and not self.locked


def status_label(status: str) -> str:
    """Return the translated name of a conversation's status."""
    return {
        ConversationStatus.PLANNED: _("in preparation"),
        ConversationStatus.HELD: _("held, awaiting sign-off"),
        ConversationStatus.LOCKED: _("signed off and locked"),
    }.get(ConversationStatus(status), status)


def conversation_record(
    session: Session,
    *,
    actor: Actor,
    conversation: Conversation,
    with_private_note: bool = True,
) -> ConversationRecord:
    """Return the conversation as ``actor`` may see it (the caller found it through
    ``access.get_conversation``); the private note only for its coach."""
    seller = session.get(Seller, conversation.seller_id)
    assert seller is not None
    coach = (
        session.get(User, conversation.manager_user_id) if conversation.manager_user_id else None
    )
    items = list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.conversation_id == conversation.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )
    ids = [item.id for item in items]
    notes: dict[int, dict[str, CoachingNote]] = {}
    if ids:
        for note in session.scalars(
            select(CoachingNote).where(CoachingNote.agenda_item_id.in_(ids))
        ):
            notes.setdefault(note.agenda_item_id, {})[note.side] = note
    impediments = impediments_of_items(session, ids)
    actions = list(
        session.scalars(
            select(ActionItem)
            .where(ActionItem.conversation_id == conversation.id)
            .order_by(ActionItem.due_on, ActionItem.id)
        )
    )
    linked_ids = [item.action_item_id for item in items if item.action_item_id]
    linked = {
        a.id: a
        for a in (
            session.scalars(select(ActionItem).where(ActionItem.id.in_(linked_ids)))
            if linked_ids
            else []
        )
    }
    kpi_ids = {i.kpi_id for i in items if i.kpi_id} | {a.kpi_id for a in actions if a.kpi_id}
    kpis = (
        {k.id: k for k in session.scalars(select(Kpi).where(Kpi.id.in_(sorted(kpi_ids))))}
        if kpi_ids
        else {}
    )
    views = [
        ItemView(
            item=item,
            described=describe(item, kpis.get(item.kpi_id) if item.kpi_id else None),
            kpi=kpis.get(item.kpi_id) if item.kpi_id else None,
            notes=notes.get(item.id, {}),
            impediments=impediments.get(item.id, []),
            action=linked.get(item.action_item_id) if item.action_item_id else None,
        )
        for item in items
    ]
    addenda = list(
        session.scalars(
            select(Addendum)
            .where(Addendum.conversation_id == conversation.id)
            .order_by(Addendum.id)
        )
    )
    private = (
        conversation.private_note if with_private_note and is_coach(actor, conversation) else None
    )
    return ConversationRecord(
        conversation=conversation,
        seller=seller,
        coach_name=(coach.name or coach.email) if coach else "–",
        items=views,
        actions=actions,
        addenda=addenda,
        side=side_of(actor, conversation),
        private_note=private,
        kpis=kpis,
    )


def add_topic(
    session: Session, *, actor: Actor, seller: Seller, text: str
) -> SellerTopic | AgendaItem:
    """Put a topic on the seller's next agenda: straight onto the conversation being
    prepared, or kept until the next one is opened. The seller and their managers may."""
    from touchline.audit import service as audit
    from touchline.coaching.cadence import planned
    from touchline.coaching.items import add_item

    if not (actor.own_seller_id == seller.id or actor.can_manage_seller(seller)):
        from touchline.errors import NotFound

        raise NotFound(
            _("No seller %(id)s that you may see.", id=repr(seller.external_id)), field="seller"
        )
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(_("Write something first."), field="text")
    if len(cleaned) > 500:
        raise InvalidInput(
            _("At most %(limit)s characters, not %(count)s.", limit=500, count=len(cleaned)),
            field="text",
        )
    waiting = planned(session, [seller.id]).get(seller.id)
    if waiting is not None and side_of(actor, waiting) is not None:
        item = add_item(session, actor=actor, conversation=waiting, title=cleaned)
        item.source = "seller_topic" if side_of(actor, waiting) is Side.SELLER else "added"
        session.flush()
        return item
    topic = SellerTopic(
        seller_id=seller.id,
        text=cleaned,
        added_by_id=actor.user.id if actor.user else None,
        added_by_side=Side.SELLER if actor.own_seller_id == seller.id else Side.MANAGER,
    )
    session.add(topic)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="add",
        entity="coaching_topic",
        entity_id=str(topic.id),
        after={"seller": seller.external_id, "text": cleaned},
    )
    return topic


def pending_topics(session: Session, *, seller: Seller) -> list[SellerTopic]:
    """Return the topics waiting for the seller's next conversation."""
    return list(
        session.scalars(
            select(SellerTopic)
            .where(SellerTopic.seller_id == seller.id, SellerTopic.conversation_id.is_(None))
            .order_by(SellerTopic.id)
        )
    )


def is_overdue(action: ActionItem) -> bool:
    """True when an open action item is past its due date."""
    return action.status == "open" and action.due_on < today()


def seller_of(session: Session, seller_id: int) -> Seller:
    """Return the seller with the database id ``seller_id`` (found through a visible row)."""
    seller = session.get(Seller, seller_id)
    assert seller is not None
    return seller
