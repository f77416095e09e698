"""The small demo company (seed 7) on SQLite, built once per test run and shared by every
directory whose tests read it (the ratings and the analytics; the coaching builds its own
on both databases). A test changes it only inside a transaction rolled back afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.live_server import migrated_sqlite
from touchline.app import create_app
from touchline.auth.models import ApiToken, User
from touchline.auth.passwords import token_digest
from touchline.auth.policy import SYSTEM
from touchline.auth.service import issue_token
from touchline.config import Settings
from touchline.db import make_engine, make_sessionmaker, utcnow
from touchline.demo.flows import build


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine on a SQLite file holding the small demo company (seed 7), built once."""
    url = migrated_sqlite(Path(tmp_path_factory.mktemp("demo")) / "demo.db")
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
            client.headers["Authorization"] = f"Bearer {bearer_token(demo_db, user)}"
            return client

        yield open_as


def bearer_token(db: Session, user: User) -> str:
    """Issue an API token for ``user``, marked used so a first request writes nothing."""
    token = issue_token(db, actor=SYSTEM, user=user)
    # Marked used, so that the first request writes nothing to the token.
    db.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token))
    ).one().last_used_at = utcnow()
    db.commit()
    return token
