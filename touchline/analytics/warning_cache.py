"""The stored payloads of the warnings, recognition and funnel, parsed once per process.

A payload is replaced only by a new run, which gives it a new ``computed_at``; so the
parsed payload of (database, period, analysis, computed_at) stays right until then. The
dashboards read two or three payloads on every visit: this keeps each visit to one small
query per payload instead of parsing megabytes of JSON at 2,000 sellers. Readers must not
change what they get.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from touchline.analytics.models import AnalyticsResult
from touchline.analytics.registry import Payload, stored_payload
from touchline.org.periods import Period

KEPT = 12

_lock = threading.Lock()
_parsed: OrderedDict[tuple[str, str, str, datetime], Payload] = OrderedDict()


def read_payload(session: Session, period: Period, key: str) -> Payload | None:
    """Return the stored payload of analysis ``key`` for ``period`` (None before a run),
    parsed once per run and process."""
    computed = session.scalar(
        select(AnalyticsResult.computed_at).where(
            AnalyticsResult.period == period.label, AnalyticsResult.analysis == key
        )
    )
    if computed is None:
        return None
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    found_key = (str(engine.url), period.label, key, computed)
    with _lock:
        found = _parsed.get(found_key)
        if found is not None:
            _parsed.move_to_end(found_key)
            return found
    payload = stored_payload(session, period, key)
    if payload is None:
        return None
    with _lock:
        _parsed[found_key] = payload
        while len(_parsed) > KEPT:
            _parsed.popitem(last=False)
    return payload
