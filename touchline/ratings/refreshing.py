"""Recomputing the KPI periods a rating, an answer or a pulse changed, at once or batched.

Every service of the soft KPIs recomputes the periods it touched before it returns, so
a figure never lags behind an answer. A batch of many answers (the demo company, a bulk
load) defers them: inside ``deferred(session)`` the spans are collected and computed
once at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from sqlalchemy.orm import Session

from touchline.kpis.compute import refresh

_pending: ContextVar[list[tuple[date, date]] | None] = ContextVar(
    "touchline_deferred_refresh", default=None
)


def refresh_spans(session: Session, spans: list[tuple[date, date]], *, trigger: str) -> None:
    """Recompute the computed periods overlapping ``spans`` now, or at the end of the
    batch the caller is in."""
    pending = _pending.get()
    if pending is not None:
        pending.extend(spans)
        return
    refresh(session, spans=spans, trigger=trigger)


@contextmanager
def deferred(session: Session, *, trigger: str) -> Iterator[None]:
    """Collect the refreshes of the block and run them once when it ends without error."""
    token = _pending.set([])
    try:
        yield
        spans = _pending.get() or []
    finally:
        _pending.reset(token)
    if spans:
        refresh(session, spans=sorted(set(spans)), trigger=trigger)
