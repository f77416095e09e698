"""Tables of the KPI catalogue, its versions, stored values, scorecards and objectives."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from touchline.db import Base, UtcDateTime, utcnow


class KpiKind(StrEnum):
    """Hard KPIs are computed from CRM data; soft KPIs are rated on scales."""

    HARD = "hard"
    SOFT = "soft"


class KpiSource(StrEnum):
    """Where a KPI's values come from."""

    METRIC = "metric"  # a built-in metric of the reference workload
    EXPRESSION = "expression"  # a formula over metrics and constants
    RATING = "rating"  # rating aggregates (soft KPIs)
    MANUAL = "manual"  # entered by hand per seller and period
    PROVIDED = "provided"  # computed by another domain (see touchline.kpis.providers)


class KpiStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class TimeAggregation(StrEnum):
    """How the value of a longer period follows from a KPI entered per shorter period."""

    SUM = "sum"
    MEAN = "mean"
    LAST = "last"


class SubjectKind(StrEnum):
    SELLER = "seller"
    UNIT = "unit"
    COMPANY = "company"


COMPANY_SUBJECT_ID = 0


class Objective(Base):
    """A goal of the strategy, cascaded from the company to units and individuals."""

    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("objectives.id", ondelete="RESTRICT"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), index=True
    )
    seller_id: Mapped[int | None] = mapped_column(
        ForeignKey("sellers.id", ondelete="CASCADE"), index=True
    )
    # The share of the parent's progress this objective carries, relative to its siblings.
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Kpi(Base):
    """A key performance indicator of the catalogue; its definition lives in its versions."""

    __tablename__ = "kpis"
    __table_args__ = (
        CheckConstraint("level IN ('result', 'activity', 'will', 'foundation')", name="level"),
        CheckConstraint("kind IN ('hard', 'soft')", name="kind"),
        CheckConstraint("status IN ('draft', 'active', 'retired')", name="status"),
        CheckConstraint("direction IN ('higher', 'lower')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    # English source text; built-in KPIs are translated through the catalogues, others
    # through ``translations`` ({"da": {"name": ..., "description": ...}}).
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    level: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    unit: Mapped[str] = mapped_column(String(20))
    decimals: Mapped[int] = mapped_column(Integer, default=0)
    time_aggregation: Mapped[str] = mapped_column(String(10), default="sum")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("objectives.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="active")
    builtin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class KpiVersion(Base):
    """A KPI's definition from a date on: formula, default target, thresholds, decision rule.

    A period is computed with the version in force on its first day, so editing a KPI
    never changes the values of periods before the new version.
    """

    __tablename__ = "kpi_versions"
    __table_args__ = (UniqueConstraint("kpi_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    formula: Mapped[str] = mapped_column(Text, default="")
    target: Mapped[float | None] = mapped_column(Float)
    # Attainment (in %) from which the light is green, and from which it is amber.
    green_from: Mapped[float] = mapped_column(Float, default=100.0)
    amber_from: Mapped[float] = mapped_column(Float, default=85.0)
    decision_threshold: Mapped[float | None] = mapped_column(Float)
    decision_rule: Mapped[str] = mapped_column(Text, default="")
    # A rated KPI's weight per rater role ({"manager": 40, "customer": 40, "self": 20});
    # None weighs every role the same. Roles without ratings drop out (see ratings docs).
    rater_weights: Mapped[dict[str, float] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class KpiValue(Base):
    """A KPI's stored value for a seller, a unit or the company and a period.

    ``value`` is unrounded (money in the company currency, ratios as 0..1); a missing row
    is "no value": nothing to divide or rank, or not rated yet. The key is the only
    index: tens of thousands of rows are rewritten per period, and every reader asks by
    period and subject.
    """

    __tablename__ = "kpi_values"

    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # No foreign keys: the rows are derived and rewritten by the ten thousand, and a check
    # per row doubled the write on PostgreSQL. KPIs and versions are never deleted (a KPI
    # is retired), so the ids always resolve.
    kpi_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version_id: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)


class ComputedPeriod(Base):
    """When a period's values were last computed, and from what data."""

    __tablename__ = "computed_periods"

    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    trigger: Mapped[str] = mapped_column(String(40), default="")
    # What an incremental refresh needs (touchline.kpis.incremental): the digest of what the
    # stored values were computed under (organisation, metric and expression KPIs with
    # their versions, time zone) and every built-in metric per subject, as float64 bytes
    # in the registry's and the organisation's order. None: the next refresh of the period
    # recomputes it whole.
    basis: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[bytes | None] = mapped_column(LargeBinary)


class ManualEntry(Base):
    """A value entered by hand for a seller and a period (Foundation and Will KPIs)."""

    __tablename__ = "kpi_manual_entries"
    __table_args__ = (UniqueConstraint("kpi_id", "seller_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(320), default="")
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ScorecardTemplate(Base):
    """A role's card (e.g. "Account executive"): a few KPIs with weights and targets."""

    __tablename__ = "scorecard_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ScorecardLine(Base):
    """A KPI on a card: its weight, target and thresholds, from a date on.

    A line belongs either to a template or to one seller (an individual KPI, or a seller's
    own target for a template KPI, which then overrides the template's line). A seller's
    lines are period-specific: a period takes, per KPI, the line in force on its first day
    (the latest ``effective_from`` on or before it), so raising a target for the next
    quarter leaves the past as it was. A template's lines apply to every period.
    """

    __tablename__ = "scorecard_lines"
    __table_args__ = (
        CheckConstraint("(template_id IS NULL) <> (seller_id IS NULL)", name="template_or_seller"),
        UniqueConstraint("template_id", "seller_id", "kpi_id", "effective_from"),
        Index("ix_scorecard_lines_seller", "seller_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("scorecard_templates.id", ondelete="CASCADE")
    )
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"))
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    # NULL: take the KPI version's default.
    target: Mapped[float | None] = mapped_column(Float)
    green_from: Mapped[float | None] = mapped_column(Float)
    amber_from: Mapped[float | None] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0)
    effective_from: Mapped[date] = mapped_column(
        Date, default=date(1900, 1, 1), server_default="1900-01-01"
    )
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ScorecardAssignment(Base):
    """A template given to a unit (and everyone below it) or to one seller."""

    __tablename__ = "scorecard_assignments"
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (seller_id IS NULL)", name="unit_or_seller"),
        UniqueConstraint("unit_id", "seller_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("scorecard_templates.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class _Components:
    """The additive components of the built-in metrics (see ``touchline.kpis.engine``):
    counts, and money in whole cents."""

    won: Mapped[int] = mapped_column(BigInteger, default=0)
    won_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    lost: Mapped[int] = mapped_column(BigInteger, default=0)
    new_customers: Mapped[int] = mapped_column(BigInteger, default=0)
    pipeline_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    meetings: Mapped[int] = mapped_column(BigInteger, default=0)
    emails: Mapped[int] = mapped_column(BigInteger, default=0)
    demos: Mapped[int] = mapped_column(BigInteger, default=0)
    social: Mapped[int] = mapped_column(BigInteger, default=0)
    meetings_with_outcome: Mapped[int] = mapped_column(BigInteger, default=0)
    meetings_next_step: Mapped[int] = mapped_column(BigInteger, default=0)
    meetings_new_customers: Mapped[int] = mapped_column(BigInteger, default=0)


# The component tables are derived and rewritten in bulk: no foreign keys (as kpi_values),
# rows of sellers that are gone are ignored when read and dropped on the next rebuild.
class DayComponents(_Components, Base):
    """A seller's components on one day: what their deals and activities of that day add."""

    __tablename__ = "kpi_day_components"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    seller_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class MonthComponents(_Components, Base):
    """A seller's components over one calendar month: the sum of their days."""

    __tablename__ = "kpi_month_components"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    seller_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class FirstWin(Base):
    """An account's first-ever won deal (earliest close date, then deal id as bytes)."""

    __tablename__ = "kpi_first_wins"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deal_id: Mapped[int] = mapped_column(Integer)
    seller_id: Mapped[int] = mapped_column(Integer)
    close_date: Mapped[date] = mapped_column(Date)


class FirstTouch(Base):
    """A deal's first activity at or after midnight of its created date, if it has one."""

    __tablename__ = "kpi_first_touches"
    __table_args__ = (
        Index("ix_kpi_first_touches_created", "created_date", "seller_id", "first_touch_ms"),
        Index("ix_kpi_first_touches_on", "first_touch_on"),
    )

    deal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seller_id: Mapped[int] = mapped_column(Integer)
    created_date: Mapped[date] = mapped_column(Date)
    # Milliseconds since 1970-01-01T00:00Z, and the activity's date in the company's zone.
    first_touch_ms: Mapped[int] = mapped_column(BigInteger)
    first_touch_on: Mapped[date] = mapped_column(Date)
