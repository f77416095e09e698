"""The stored results of the analytics: one row per analysis and period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from touchline.db import Base, UtcDateTime, utcnow


class AnalyticsResult(Base):
    """What one analysis found for one period, company-wide, as JSON.

    The pages and the API filter it by the viewer's reach when they read it; a new run
    replaces the row.
    """

    __tablename__ = "analytics_results"

    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    analysis: Mapped[str] = mapped_column(String(40), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    trigger: Mapped[str] = mapped_column(String(40), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
