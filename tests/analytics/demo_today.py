"""The demo's "today" for the early warnings, the recognition and the funnel: the last
day of its data, whatever the clock says, so the running quarter stays the running one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.crm.models import Activity


@pytest.fixture
def demo_today(demo_db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    """Make the demo's last day of data the company's today for these analyses."""
    from tests.analytics.conftest import demo_quarter
    from touchline.analytics import funnel, recognition, warning_parts, warnings

    day = demo_db.scalar(select(func.max(Activity.occurred_on)))
    assert day is not None
    for module in (funnel, recognition, warnings):
        monkeypatch.setattr(module, "company_today", lambda: day)
    quarter = demo_quarter(demo_db)
    monkeypatch.setattr(warning_parts, "current_quarter", lambda: quarter)
    return day
