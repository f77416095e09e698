"""Tables of users, their API tokens and login attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from touchline.db import Base, UtcDateTime, utcnow
from touchline.org.models import Seller


class Role(StrEnum):
    """What a user may see and do; each role includes the sight of the ones before it."""

    SELLER = "seller"
    MANAGER = "manager"
    LEADER = "leader"
    ADMIN = "admin"


def role_label(role: str) -> str:
    """Return the translated name of a role."""
    from touchline.i18n import gettext as _

    labels = {
        Role.SELLER: _("Seller"),
        Role.MANAGER: _("Manager"),
        Role.LEADER: _("Leader"),
        Role.ADMIN: _("Admin"),
    }
    return labels.get(Role(role), role)


class User(Base):
    """A person who logs in; may be linked to the seller record that is them."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    seller_id: Mapped[int | None] = mapped_column(
        ForeignKey("sellers.id", ondelete="SET NULL"), unique=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or deactivation: sessions signed before it are void.
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    seller: Mapped[Seller | None] = relationship(lazy="raise")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def sees_everyone(self) -> bool:
        return self.role in (Role.LEADER, Role.ADMIN)


class ApiToken(Base):
    """A bearer token for the API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(lazy="raise")


class LoginAttempt(Base):
    """A failed login, kept briefly to slow down password guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_address_at", "email", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
