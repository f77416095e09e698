"""Tables of the soft KPIs: scales and their anchors, rating rounds, survey campaigns and
their single-use invitations, and the seller surveys on the Foundation.

The ratings, customer answers and pulse answers themselves live in the CRM tables
(``rating_records``, ``customer_survey_responses``, ``pulse_answers``), so an imported
``ratings.csv`` and a rating given here feed the same figures. Each row there says where
it came from (``origin``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from touchline.db import Base, UtcDateTime, utcnow


class Origin(StrEnum):
    """Where a rating, a customer answer or a pulse answer came from."""

    IMPORT = "import"  # a CRM or HR export (ratings.csv, customer_surveys.csv, pulse.csv)
    ROUND = "round"  # a rating round: the seller's self-rating or the manager's
    LINK = "link"  # an outside rater's single-use link: customer, mystery shopper, peer
    SURVEY = "survey"  # a seller survey on the Foundation
    APP = "app"  # a pulse answered on the dashboard


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CampaignKind(StrEnum):
    """Who answers a campaign; also the rater role their ratings carry."""

    CUSTOMER = "customer"
    MYSTERY_SHOPPER = "mystery_shopper"
    PEER = "peer"


class RatingScale(Base):
    """A named scale: its lowest and highest score and the step between choices."""

    __tablename__ = "rating_scales"
    __table_args__ = (CheckConstraint("minimum < maximum", name="range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # English source text; built-in scales are translated through the catalogues.
    name: Mapped[str] = mapped_column(String(200))
    translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)
    step: Mapped[float] = mapped_column(Float, default=1.0)
    builtin: Mapped[bool] = mapped_column(default=False)


class KpiScale(Base):
    """The scale a rated KPI is rated on."""

    __tablename__ = "kpi_scales"

    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"), primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("rating_scales.id", ondelete="RESTRICT"))


class ScaleAnchor(Base):
    """What a point of a KPI's scale looks like in behaviour ("3: handles common
    objections with prepared answers")."""

    __tablename__ = "scale_anchors"
    __table_args__ = (UniqueConstraint("kpi_id", "point"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"), index=True)
    point: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    builtin: Mapped[bool] = mapped_column(default=False)


class RatingRound(Base):
    """Soft KPIs x the sellers of a unit x a period, rated by the seller and the manager.

    Neither sees the other's rating of a seller until both have submitted it, or the
    round is closed.
    """

    __tablename__ = "rating_rounds"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(10), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    kpi_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default=RoundStatus.OPEN)
    due_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RoundSeller(Base):
    """A seller in a round: when each side submitted, and when both became visible."""

    __tablename__ = "round_sellers"
    __table_args__ = (UniqueConstraint("round_id", "seller_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("rating_rounds.id", ondelete="CASCADE"), index=True
    )
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    self_submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    manager_submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    manager_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SurveyCampaign(Base):
    """A survey sent to outside raters as single-use links: customers (by their status),
    mystery shoppers or peers, about the sellers of a unit in a period."""

    __tablename__ = "survey_campaigns"
    __table_args__ = (
        CheckConstraint("kind IN ('customer', 'mystery_shopper', 'peer')", name="kind"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    # Customers of one status only (existing, lost, prospect, lost_prospect), or any.
    customer_status: Mapped[str | None] = mapped_column(String(20))
    kpi_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Customers also give an overall score (0-10) and may predict nothing: sellers do.
    ask_score: Mapped[bool] = mapped_column(default=True)
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=RoundStatus.OPEN)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SurveyInvitation(Base):
    """One outside rater's single-use link about one seller.

    Only a hash of the link's random token is stored: a link is shown (or sent) once, and
    issuing it again makes a new token. ``answered_at`` is set exactly once.
    """

    __tablename__ = "survey_invitations"
    __table_args__ = (Index("ix_survey_invitations_seller", "seller_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("survey_campaigns.id", ondelete="CASCADE"), index=True
    )
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    customer_status: Mapped[str | None] = mapped_column(String(20))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The seller's guess of the customer's overall score (0-10), made before the answer.
    predicted_score: Mapped[int | None] = mapped_column(Integer)


class SellerSurvey(Base):
    """A survey of the sellers of a unit on their Foundation: tools, time, knowledge,
    resources. Each answer becomes the seller's own rating of the Foundation KPIs."""

    __tablename__ = "seller_surveys"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    kpi_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default=RoundStatus.OPEN)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SellerSurveyAnswer(Base):
    """That a seller answered a seller survey, and when (the scores are ratings)."""

    __tablename__ = "seller_survey_answers"
    __table_args__ = (UniqueConstraint("survey_id", "seller_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("seller_surveys.id", ondelete="CASCADE"), index=True
    )
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
