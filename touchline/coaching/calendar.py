"""Planned conversations as an iCalendar file (RFC 5545, written by ``icalendar``), and
the times typed into the planning forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from touchline.auth.models import User
from touchline.auth.policy import Actor
from touchline.coaching.models import Conversation, ConversationStatus
from touchline.config import get_settings
from touchline.errors import InvalidInput
from touchline.i18n import gettext as _
from touchline.org.models import Seller

MEETING_MINUTES = 45
DEFAULT_TIME = time(9, 0)


def local_time(day: date | None, text: str) -> datetime | None:
    """Return ``day`` at the typed time (HH:MM, 09:00 when empty) in the company's time
    zone; None without a day. Refuses a time that is not HH:MM with InvalidInput."""
    if day is None:
        return None
    at = DEFAULT_TIME
    if text.strip():
        try:
            at = time.fromisoformat(text.strip())
        except ValueError:
            raise InvalidInput(
                _("%(value)s is not a time of day (HH:MM).", value=text), field="scheduled_time"
            ) from None
    return datetime.combine(day, at, tzinfo=ZoneInfo(get_settings().timezone))


def planned_calendar(session: Session, *, actor: Actor, now: datetime | None = None) -> bytes:
    """Return the planned conversations the actor takes part in (as coach or seller) as an
    .ics file. It holds when, with whom and a link, never anything of the record."""
    now = now or datetime.now(UTC)
    conditions = []
    if actor.user is not None:
        conditions.append(Conversation.manager_user_id == actor.user.id)
    if actor.own_seller_id is not None:
        conditions.append(Conversation.seller_id == actor.own_seller_id)
    calendar = Calendar()
    calendar.add("prodid", "-//Touchline//coaching//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("Coaching conversations"))
    if not conditions:
        return bytes(calendar.to_ical())
    rows = session.execute(
        select(Conversation, Seller.name, User.name, User.email)
        .join(Seller, Seller.id == Conversation.seller_id)
        .outerjoin(User, User.id == Conversation.manager_user_id)
        .where(
            or_(*conditions),
            Conversation.status == ConversationStatus.PLANNED,
            Conversation.scheduled_at.is_not(None),
        )
        .order_by(Conversation.scheduled_at)
    ).all()
    for conversation, seller_name, coach_name, coach_email in rows:
        assert conversation.scheduled_at is not None
        event = Event()
        event.add("uid", f"conversation-{conversation.id}@touchline")
        event.add("dtstamp", now)
        event.add("dtstart", conversation.scheduled_at)
        event.add("dtend", conversation.scheduled_at + timedelta(minutes=MEETING_MINUTES))
        event.add(
            "summary",
            _(
                "Coaching: %(seller)s with %(coach)s",
                seller=seller_name,
                coach=coach_name or coach_email or "–",
            ),
        )
        event.add("description", f"/conversations/{conversation.id}")
        event.add("sequence", conversation.version)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
