"""Tables of the sales organisation: the unit tree, territories and sellers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Numeric, String, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from touchline.db import Base, UtcDateTime, utcnow

UNIT_KINDS = ("company", "region", "team", "unit")


class Unit(Base):
    """A node of the organisation tree: the company, a region, a team, at any depth."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="team", server_default="team")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("sellers.id", ondelete="SET NULL", use_alter=True), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.current_timestamp()
    )

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="raise")
    manager: Mapped[Seller | None] = relationship(foreign_keys=[manager_id], lazy="raise")


class Territory(Base):
    """A sales territory and its yearly revenue potential, outside any seller's control."""

    __tablename__ = "territories"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    market_potential: Mapped[Decimal] = mapped_column(
        Numeric(18, 2), default=Decimal(0), server_default="0"
    )
    region: Mapped[str | None] = mapped_column(String(200))


class Seller(Base):
    """A person in the sales force, placed in a unit, reporting to a manager."""

    __tablename__ = "sellers"
    __table_args__ = (Index("ix_sellers_name", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("sellers.id", ondelete="SET NULL"), index=True
    )
    territory_id: Mapped[int | None] = mapped_column(
        ForeignKey("territories.id", ondelete="SET NULL"), index=True
    )
    hire_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.current_timestamp()
    )

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="raise")
    manager: Mapped[Seller | None] = relationship(remote_side=[id], lazy="raise")
    territory: Mapped[Territory | None] = relationship(lazy="raise")
