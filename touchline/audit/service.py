"""Recording changes in the audit log."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.audit.models import AuditEntry

if TYPE_CHECKING:
    from touchline.auth.models import User


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """Return ``values`` with dates and decimals as strings, fit for the JSON column."""
    return {key: _plain(value) for key, value in values.items()}


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session's transaction and return it.

    ``actor`` None means the system itself (a command run on the server, the demo).
    """
    entry = AuditEntry(
        user_id=actor.id if actor else None,
        actor=actor.email if actor else "system",
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=snapshot(before) if before is not None else None,
        after=snapshot(after) if after is not None else None,
    )
    session.add(entry)
    return entry


def recent(session: Session, *, entity: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """Return the newest audit entries, optionally of one kind of entity."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    return list(session.scalars(query))
