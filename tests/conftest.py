"""Fixtures shared by every test: databases on SQLite and PostgreSQL, the app, sign-in.

Each database test runs on both backends through the ``engine`` fixture's parameter.
The schema is built once per backend by running the migrations; each test then runs
inside a transaction that is rolled back, so every test starts from a clean database.
PostgreSQL tests skip, saying why, when no server answers.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.demo_company import demo_as, demo_connection, demo_db, demo_engine  # noqa: F401
from touchline.app import create_app
from touchline.config import Settings
from touchline.db import make_engine
from touchline.migrations import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "TOUCHLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_admin() -> Engine | str:
    """Return an engine on the maintenance database, or the reason none answers."""
    engine = create_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        engine.dispose()
        first_line = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        return f"no PostgreSQL answers at {POSTGRES_ADMIN_URL}: {first_line}"
    return engine


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Create a fresh, migrated PostgreSQL database for this run; drop it at the end."""
    admin = _postgres_admin()
    if isinstance(admin, str):
        pytest.skip(admin)
    name = f"touchline_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = re.sub(r"/[^/]*$", f"/{name}", POSTGRES_ADMIN_URL)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Create a migrated SQLite database file for this run."""
    path = Path(tmp_path_factory.mktemp("sqlite")) / "touchline.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on a migrated database; every database test runs once per backend."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions bound to the test's connection; their commits become savepoints."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging data and checking the outcome."""
    with session_factory() as session:
        yield session


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="sqlite://", secret_key="test-secret-key-" + "x" * 32)


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]):
    return create_app(settings, engine=engine, session_factory=session_factory)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form in ``html``."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str) -> str:
    """Sign in through the login form; return the session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"}
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/account").text)
