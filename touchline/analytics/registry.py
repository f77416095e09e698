"""The registered analyses, running them for a period and reading what they stored.

An analysis is a function ``(session, period) -> payload`` (a JSON-able dict) registered
with ``@analysis(key, order)``; ``run_analytics`` runs every registered analysis of a
period in order and replaces their stored results in one transaction. Later analyses may
read the results of earlier ones from ``RunContext``. The pages and the API read the
stored payload and filter it to the viewer's reach before showing it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from touchline.analytics.dataset import Dataset, load_dataset
from touchline.analytics.models import AnalyticsResult
from touchline.org.periods import Period

Payload = dict[str, Any]
Progress = Callable[[str], None]


@dataclass
class RunContext:
    """What one run shares between its analyses: the dataset and the payloads so far."""

    session: Session
    period: Period
    found: dict[str, Payload] = field(default_factory=dict)
    _dataset: Dataset | None = None

    @property
    def dataset(self) -> Dataset:
        """The period's dataset, loaded once per run on first use."""
        if self._dataset is None:
            self._dataset = load_dataset(self.session, self.period)
        return self._dataset


AnalysisFunction = Callable[[RunContext], Payload]


@dataclass(frozen=True)
class Analysis:
    key: str
    order: int
    compute: AnalysisFunction


ANALYSES: dict[str, Analysis] = {}


def analysis(key: str, order: int) -> Callable[[AnalysisFunction], AnalysisFunction]:
    """Register the decorated function as the analysis ``key`` (lower ``order`` runs first)."""

    def register(function: AnalysisFunction) -> AnalysisFunction:
        ANALYSES[key] = Analysis(key, order, function)
        return function

    return register


def registered() -> list[Analysis]:
    """Return the registered analyses in run order (importing every analysis module)."""
    import touchline.analytics.all  # noqa: F401 (registers each analysis)

    return sorted(ANALYSES.values(), key=lambda a: (a.order, a.key))


@dataclass(frozen=True)
class RunSummary:
    key: str
    seconds: float


def run_analytics(
    session: Session,
    period: Period,
    *,
    trigger: str = "analytics run",
    only: set[str] | None = None,
    progress: Progress | None = None,
) -> list[RunSummary]:
    """Run the registered analyses of ``period`` (or those in ``only``) and store them.

    An analysis not in ``only`` that a chosen one depends on reads its stored payload
    (``stored``) through ``RunContext.found`` when it was computed before.
    """
    context = RunContext(session, period)
    chosen = [a for a in registered() if only is None or a.key in only]
    if only is not None:
        for row in session.scalars(
            select(AnalyticsResult).where(
                AnalyticsResult.period == period.label, AnalyticsResult.analysis.not_in(only)
            )
        ):
            context.found[row.analysis] = row.payload
    summaries: list[RunSummary] = []
    for item in chosen:
        started = time.perf_counter()
        payload = item.compute(context)
        seconds = time.perf_counter() - started
        context.found[item.key] = payload
        session.execute(
            delete(AnalyticsResult).where(
                AnalyticsResult.period == period.label, AnalyticsResult.analysis == item.key
            )
        )
        session.add(
            AnalyticsResult(
                period=period.label,
                analysis=item.key,
                duration_s=seconds,
                trigger=trigger,
                payload=payload,
            )
        )
        summaries.append(RunSummary(item.key, seconds))
        if progress:
            progress(item.key)
    session.flush()
    return summaries


@dataclass(frozen=True)
class Stored:
    """A stored result as the pages read it; ``payload`` is shared: never change it."""

    period: str
    analysis: str
    computed_at: datetime
    duration_s: float
    trigger: str
    payload: Payload


# Parsed payloads by (database, period, analysis, computed_at): a run gives a new
# computed_at, so an entry stays right until the next run replaces it. At 2,000 sellers a
# payload is megabytes of JSON; the pages and dashboards read it on every visit.
KEPT = 24
_lock = threading.Lock()
_parsed: OrderedDict[tuple[str, str, str, datetime], Stored] = OrderedDict()


def stored(session: Session, period: Period, key: str) -> Stored | None:
    """Return the stored result of analysis ``key`` for ``period``, None before a run.

    One small query says when it was computed; the payload is parsed once per run and
    process.
    """
    head = session.execute(
        select(
            AnalyticsResult.computed_at, AnalyticsResult.duration_s, AnalyticsResult.trigger
        ).where(AnalyticsResult.period == period.label, AnalyticsResult.analysis == key)
    ).first()
    if head is None:
        return None
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    cache_key = (str(engine.url), period.label, key, head.computed_at)
    with _lock:
        found = _parsed.get(cache_key)
        if found is not None:
            _parsed.move_to_end(cache_key)
            return found
    payload = session.scalar(
        select(AnalyticsResult.payload).where(
            AnalyticsResult.period == period.label, AnalyticsResult.analysis == key
        )
    )
    found = Stored(
        period.label, key, head.computed_at, head.duration_s, head.trigger, payload or {}
    )
    with _lock:
        _parsed[cache_key] = found
        while len(_parsed) > KEPT:
            _parsed.popitem(last=False)
    return found


def stored_payload(session: Session, period: Period, key: str) -> Payload | None:
    found = stored(session, period, key)
    return found.payload if found else None
