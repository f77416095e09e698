"""Action items: what either party agreed to do, followed up until done or dropped.

Responsibility is shared: an item's owner is the seller or the manager. An open item is
carried into each next conversation of the seller (the agenda source ``action_item``)
until it is done or dropped; dropping keeps the reason. The status can change after the
conversation that agreed it was locked: following up is what the item is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.policy import Actor
from touchline.coaching.access import EditConflict, require_party, require_unlocked, today
from touchline.coaching.conversations import MAX_TITLE, touch
from touchline.coaching.models import ActionItem, ActionStatus, Conversation, Side
from touchline.errors import InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.models import Kpi
from touchline.org.models import Seller


@dataclass(frozen=True)
class ActionIn:
    """An action item as either party writes it."""

    title: str
    owner: str
    due_on: date
    kpi: str | None = None
    competence: str = ""


def _kpi_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    kpi_id = session.scalar(select(Kpi.id).where(Kpi.code == code))
    if kpi_id is None:
        raise InvalidInput(_("There is no KPI with the code %(code)s.", code=code), field="kpi")
    return kpi_id


def add_action(
    session: Session, *, actor: Actor, conversation: Conversation, action_in: ActionIn
) -> ActionItem:
    """Agree an action item in the conversation; returns it.

    Refuses an empty title, an owner other than seller or manager, an unknown KPI and a
    due date before the conversation (InvalidInput, naming the field).
    """
    require_party(actor, conversation)
    require_unlocked(conversation)
    title = action_in.title.strip()
    if not title:
        raise InvalidInput(_("Say what is to be done."), field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(
            _("At most %(limit)s characters, not %(count)s.", limit=MAX_TITLE, count=len(title)),
            field="title",
        )
    if action_in.owner not in (Side.SELLER, Side.MANAGER):
        raise InvalidInput(
            _("The owner is the seller or the manager, not %(owner)s.", owner=action_in.owner),
            field="owner",
        )
    start = conversation.held_on or today()
    if action_in.due_on < start:
        raise InvalidInput(
            _("The due date lies before the conversation (%(day)s).", day=start.isoformat()),
            field="due_on",
        )
    action = ActionItem(
        seller_id=conversation.seller_id,
        conversation_id=conversation.id,
        title=title,
        owner=action_in.owner,
        due_on=action_in.due_on,
        kpi_id=_kpi_id(session, action_in.kpi),
        competence=action_in.competence.strip()[:200],
        status=ActionStatus.OPEN,
        created_by_id=actor.user.id if actor.user else None,
        created_on=today(),
        version=1,
    )
    session.add(action)
    touch(conversation)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="add",
        entity="action_item",
        entity_id=str(action.id),
        after={
            "title": title,
            "owner": action.owner,
            "due_on": action.due_on,
            "kpi": action_in.kpi,
            "competence": action.competence,
        },
    )
    return action


def get_action(session: Session, *, actor: Actor, action_id: int) -> ActionItem:
    """Return the action item if the actor may see its seller; NotFound otherwise."""
    action = session.scalar(
        select(ActionItem)
        .join(Seller, Seller.id == ActionItem.seller_id)
        .where(ActionItem.id == action_id, actor.sellers_clause())
    )
    if action is None:
        raise NotFound(
            _("There is no action item %(id)s that you may see.", id=action_id), field="action"
        )
    return action


def set_status(
    session: Session,
    *,
    actor: Actor,
    action: ActionItem,
    status: str,
    version: int,
    reason: str = "",
    on: date | None = None,
) -> ActionItem:
    """Mark the item done, dropped (with a reason) or open again.

    The seller and whoever manages them may; refuses a stale ``version`` with
    EditConflict, a drop without a reason and an unknown status with InvalidInput.
    """
    seller = session.get(Seller, action.seller_id)
    assert seller is not None
    if not (actor.own_seller_id == seller.id or actor.can_manage_seller(seller)):
        raise NotFound(
            _("There is no action item %(id)s that you may see.", id=action.id), field="action"
        )
    if status not in (ActionStatus.OPEN, ActionStatus.DONE, ActionStatus.DROPPED):
        raise InvalidInput(
            _("The status is open, done or dropped, not %(status)s.", status=status),
            field="status",
        )
    reason = reason.strip()
    if status == ActionStatus.DROPPED and not reason:
        raise InvalidInput(_("Say why the item is dropped; the reason is kept."), field="reason")
    if version != action.version:
        raise EditConflict(
            _("This action item was changed elsewhere since you opened it."),
            field="status",
            theirs=f"{action.status} {action.drop_reason}".strip(),
            yours=f"{status} {reason}".strip(),
            version=action.version,
        )
    before = {"status": action.status, "drop_reason": action.drop_reason}
    action.status = status
    action.drop_reason = reason if status == ActionStatus.DROPPED else ""
    action.closed_on = None if status == ActionStatus.OPEN else (on or today())
    action.version += 1
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="status",
        entity="action_item",
        entity_id=str(action.id),
        before=before,
        after={"status": status, "drop_reason": action.drop_reason},
    )
    return action


def actions_of(
    session: Session, *, actor: Actor, seller: Seller, status: str | None = None
) -> list[ActionItem]:
    """Return the seller's action items (optionally of one status), open and soonest first."""
    if not actor.can_see_seller(seller):
        raise NotFound(
            _("No seller %(id)s that you may see.", id=repr(seller.external_id)), field="seller"
        )
    query = select(ActionItem).where(ActionItem.seller_id == seller.id)
    if status is not None:
        query = query.where(ActionItem.status == status)
    rows = list(session.scalars(query.order_by(ActionItem.due_on, ActionItem.id)))
    return sorted(rows, key=lambda a: (a.status != ActionStatus.OPEN, a.due_on, a.id))
