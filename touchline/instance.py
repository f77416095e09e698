"""Settings this installation keeps in its own database, such as the generated secret key."""

from __future__ import annotations

import secrets

from sqlalchemy import String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from touchline.db import Base


class InstanceSetting(Base):
    """A key and its value, shared by every worker of the installation."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def get_value(session: Session, key: str) -> str | None:
    """Return the stored value of ``key``, or None."""
    return session.scalar(select(InstanceSetting.value).where(InstanceSetting.key == key))


def set_value(session: Session, key: str, value: str) -> None:
    """Store ``value`` under ``key``, replacing any earlier value."""
    setting = session.get(InstanceSetting, key)
    if setting is None:
        session.add(InstanceSetting(key=key, value=value))
    else:
        setting.value = value


def secret_key(session: Session, configured: str | None) -> str:
    """Return the configured secret key, or the stored one, generating it on first use."""
    if configured:
        return configured
    stored = get_value(session, "secret_key")
    if stored is not None:
        return stored
    try:
        # Several workers may start at once: the first insert wins, the others read it.
        with session.begin_nested():
            session.add(InstanceSetting(key="secret_key", value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass
    stored = get_value(session, "secret_key")
    assert stored is not None
    return stored
