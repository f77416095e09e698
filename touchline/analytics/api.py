"""JSON routes of the analytics: what is computed for a period, and running it.

Each analysis adds its routes under ``/api/v1/analytics/...`` in a module of its own,
filtered by the viewer's reach as its page is.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from touchline.analytics.models import AnalyticsResult
from touchline.analytics.registry import registered, run_analytics
from touchline.deps import Db, LeaderUp, ManagerUp
from touchline.kpis.service import chosen_period

router = APIRouter(prefix="/api/v1", tags=["analytics"])


class AnalysisRead(BaseModel):
    analysis: str
    period: str
    computed: bool
    computed_at: datetime | None
    duration_s: float | None


@router.get("/analytics")
def analyses(db: Db, actor: ManagerUp, period: str | None = None) -> list[AnalysisRead]:
    """Every analysis and whether (and when) it was computed for the period."""
    chosen = chosen_period(period)
    columns = (AnalyticsResult.analysis, AnalyticsResult.computed_at, AnalyticsResult.duration_s)
    rows = {
        row.analysis: row
        for row in db.execute(select(*columns).where(AnalyticsResult.period == chosen.label))
    }
    found = []
    for item in registered():
        row = rows.get(item.key)
        found.append(
            AnalysisRead(
                analysis=item.key,
                period=chosen.label,
                computed=row is not None,
                computed_at=row.computed_at if row else None,
                duration_s=row.duration_s if row else None,
            )
        )
    return found


@router.post("/analytics/runs", status_code=201)
def run(db: Db, actor: LeaderUp, period: str | None = None) -> list[AnalysisRead]:
    """Run every analysis of the period (the running quarter by default) and store it."""
    chosen = chosen_period(period)
    run_analytics(db, chosen, trigger=f"api by {actor.label}"[:40])
    return analyses(db, actor, chosen.label)
