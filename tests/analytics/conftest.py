"""Helpers of the analytics tests on the demo company (tests/demo_company.py builds it once
per run, on SQLite): what it planted, its quarters, and running the analyses inside a
test's transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchline.analytics.registry import run_analytics
from touchline.config import get_settings
from touchline.crm.models import Activity
from touchline.demo.flows import DEMO_MARKER
from touchline.instance import get_value
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodKind, period_containing


def demo_marker(db: Session) -> dict[str, Any]:
    """What the demo planted: the over-confident seller, the low-energy team, logins..."""
    return dict(json.loads(get_value(db, DEMO_MARKER) or "{}"))


def demo_login(db: Session, role: str) -> str:
    """The e-mail of the demo's printed login of ``role`` (admin, leader, manager, seller)."""
    return str(next(item["email"] for item in demo_marker(db)["logins"] if item["role"] == role))


def demo_quarter(db: Session, back: int = 0) -> Period:
    """The quarter of the demo's last day of data (its "today"), or ``back`` before it."""
    day = db.scalar(select(func.max(Activity.occurred_on)))
    assert day is not None
    quarter = period_containing(
        day, PeriodKind.QUARTER, fiscal_start_month=get_settings().fiscal_year_start_month
    )
    for _ in range(back):
        quarter = quarter.previous()
    return quarter


def seller_of(db: Session, external_id: str) -> Seller:
    return db.scalars(select(Seller).where(Seller.external_id == external_id)).one()


def unit_of(db: Session, external_id: str) -> Unit:
    return db.scalars(select(Unit).where(Unit.external_id == external_id)).one()


@pytest.fixture
def analysed(demo_db: Session) -> Callable[..., Period]:
    """Run the analyses of a demo quarter (``back`` quarters before its last) in the test."""

    def run(back: int = 0, only: set[str] | None = None) -> Period:
        period = demo_quarter(demo_db, back)
        run_analytics(demo_db, period, only=only)
        demo_db.flush()
        return period

    return run
