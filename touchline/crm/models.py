"""Tables of the CRM data Touchline measures, and of the raw ratings, surveys and pulses.

Every row keeps the external id its source gave it, so a re-import updates rather
than duplicates. Indexes follow the KPI workload: by seller and date, by deal, by
account.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from touchline.db import Base, UtcDateTime, utcnow


class DealStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ActivityType(StrEnum):
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    DEMO = "demo"
    SOCIAL = "social"


class Outcome(StrEnum):
    NEXT_STEP_AGREED = "next_step_agreed"
    NO_NEXT_STEP = "no_next_step"


class RaterRole(StrEnum):
    SELF = "self"
    MANAGER = "manager"
    PEER = "peer"
    CUSTOMER = "customer"
    MYSTERY_SHOPPER = "mystery_shopper"


class CustomerStatus(StrEnum):
    EXISTING = "existing"
    LOST = "lost"
    PROSPECT = "prospect"
    LOST_PROSPECT = "lost_prospect"


class Account(Base):
    """A customer or prospect company."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    territory_id: Mapped[int | None] = mapped_column(
        ForeignKey("territories.id", ondelete="SET NULL"), index=True
    )
    segment: Mapped[str | None] = mapped_column(String(100))


class Deal(Base):
    """An opportunity: created, then open, won or lost; credited to the seller named on it."""

    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
        CheckConstraint("status = 'open' OR close_date IS NOT NULL", name="closed_has_date"),
        # Covering indexes of the KPI workload: deals closed, deals created, first wins.
        Index(
            "ix_deals_close", "close_date", "status", "seller_id", "amount_cents", "created_date"
        ),
        Index("ix_deals_created", "created_date", "seller_id", "amount_cents"),
        Index("ix_deals_account_won", "account_id", "status", "close_date", "external_id"),
        Index("ix_deals_seller", "seller_id", "close_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="RESTRICT"))
    created_date: Mapped[date] = mapped_column(Date)
    close_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    # Money in cents: exact sums on SQLite too, where decimals would become floats.
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    stage: Mapped[str | None] = mapped_column(String(100))

    @property
    def amount(self) -> Decimal:
        return Decimal(self.amount_cents) / 100


class DealStageChange(Base):
    """A deal entering a stage on a date, where the source keeps stage history."""

    __tablename__ = "deal_stage_changes"
    __table_args__ = (UniqueConstraint("deal_id", "entered_on", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(100))
    entered_on: Mapped[date] = mapped_column(Date)


class Activity(Base):
    """A call, meeting, e-mail, demo or social touch by a seller.

    ``occurred_on`` is the date of ``occurred_at`` in the company's time zone at import
    time: the KPI definitions count by that date.
    """

    __tablename__ = "activities"
    __table_args__ = (
        # Covering indexes of the KPI workload: a period's activities, a deal's first touch.
        Index("ix_activities_on", "occurred_on", "type", "seller_id", "outcome", "account_id"),
        Index("ix_activities_deal", "deal_id", "occurred_on", "occurred_at"),
        Index("ix_activities_seller_on", "seller_id", "occurred_on"),
        Index("ix_activities_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="RESTRICT"))
    type: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    occurred_on: Mapped[date] = mapped_column(Date)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    duration_min: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(20))


class RatingRecord(Base):
    """A rating of a seller on a soft KPI for a period.

    Imported (ratings.csv, with the source's external id) or given in Touchline: in a
    rating round, through an outside rater's link, or in a seller survey (``origin``; no
    external id). A round's rating stays ``hidden`` (out of every figure and view) until
    both the seller and the manager have rated, or the round closes.
    """

    __tablename__ = "rating_records"
    __table_args__ = (
        Index("ix_rating_records_seller_period", "seller_id", "period"),
        # Covering index of the soft KPIs: one period's ratings per KPI, role and seller.
        Index(
            "ix_rating_records_period",
            "period",
            "kpi",
            "hidden",
            "rater_role",
            "seller_id",
            "score",
        ),
        Index("ix_rating_records_round", "round_id", "seller_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    kpi: Mapped[str] = mapped_column(String(100))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    rater_role: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(10))
    score: Mapped[float] = mapped_column(Float)
    rater_id: Mapped[str | None] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(10), default="import", server_default="import")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rating_rounds.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL")
    )
    rater_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=utcnow)


class CustomerSurveyResponse(Base):
    """A customer's answer about a seller, 0-10: imported (customer_surveys.csv) or given
    through a survey link (``origin``; no external id)."""

    __tablename__ = "customer_survey_responses"
    __table_args__ = (Index("ix_customer_survey_seller_date", "seller_id", "answered_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    customer_status: Mapped[str] = mapped_column(String(20))
    answered_date: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    seller_predicted_score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(10), default="import", server_default="import")
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL"), unique=True
    )


class PulseAnswer(Base):
    """A seller's weekly pulse: motivation, energy and pride in the product, 1-5."""

    __tablename__ = "pulse_answers"
    __table_args__ = (
        UniqueConstraint("seller_id", "week"),
        # Covering index of the Will KPIs: one period's weeks of answers.
        Index("ix_pulse_answers_week", "week", "seller_id", "motivation", "energy", "pride"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))
    motivation: Mapped[int] = mapped_column(Integer)
    energy: Mapped[int] = mapped_column(Integer)
    pride: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(10), default="import", server_default="import")
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ImportRun(Base):
    """One import: who ran it, from where, what it changed per file, how long it took."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    dry_run: Mapped[bool] = mapped_column(default=False)
    pruned: Mapped[bool] = mapped_column(default=False)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(default=0.0)
