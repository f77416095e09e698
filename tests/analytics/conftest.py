"""The demo company for the analytics tests, built once per run on SQLite (and on
PostgreSQL when one answers), and helpers to run the analyses inside a test's transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.live_server import migrated_sqlite
from touchline.analytics.registry import run_analytics
from touchline.app import create_app
from touchline.auth.models import ApiToken, User
from touchline.auth.passwords import token_digest
from touchline.auth.policy import SYSTEM
from touchline.auth.service import issue_token
from touchline.config import Settings, get_settings
from touchline.crm.models import Activity
from touchline.db import make_engine, make_sessionmaker, utcnow
from touchline.demo.flows import DEMO_MARKER, build
from touchline.instance import get_value
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodKind, period_containing


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine on a SQLite file holding the small demo company (seed 7), built once."""
    url = migrated_sqlite(Path(tmp_path_factory.mktemp("analytics-demo")) / "demo.db")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        build(session, size="small", seed=7)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def demo_connection(demo_engine: Engine) -> Iterator[Connection]:
    """A connection to the demo inside a transaction rolled back after the test."""
    with demo_engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


@pytest.fixture
def demo_db(demo_connection: Connection) -> Iterator[Session]:
    factory = sessionmaker(
        bind=demo_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    with factory() as session:
        yield session


@pytest.fixture
def demo_as(
    settings: Settings, demo_engine: Engine, demo_connection: Connection, demo_db: Session
) -> Iterator[Callable[[str], TestClient]]:
    """Open a client on the demo acting as the user with an e-mail (bearer token)."""
    factory = sessionmaker(
        bind=demo_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app = create_app(settings, engine=demo_engine, session_factory=factory)
    with ExitStack() as stack:

        def open_as(email: str) -> TestClient:
            user = demo_db.scalars(select(User).where(User.email == email)).one()
            client = stack.enter_context(TestClient(app, follow_redirects=False))
            client.headers["Authorization"] = f"Bearer {_token(demo_db, user)}"
            return client

        yield open_as


def _token(db: Session, user: User) -> str:
    token = issue_token(db, actor=SYSTEM, user=user)
    # Marked used, so that the first request writes nothing to the token.
    db.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token))
    ).one().last_used_at = utcnow()
    db.commit()
    return token


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
