"""The stored payloads of the warnings, recognition and funnel, parsed once per process
(``touchline.analytics.registry.stored`` keeps them). Readers must not change what they
get."""

from __future__ import annotations

from sqlalchemy.orm import Session

from touchline.analytics.registry import Payload, stored_payload
from touchline.org.periods import Period


def read_payload(session: Session, period: Period, key: str) -> Payload | None:
    """Return the stored payload of analysis ``key`` for ``period`` (None before a run)."""
    return stored_payload(session, period, key)
