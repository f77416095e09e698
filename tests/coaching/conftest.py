"""Helpers for coaching tests: API callers by token, and the demo company built once.

``demo_db`` holds the small demo company (seed 7), built once per backend for every
coaching test module in a database of its own; each test runs in a transaction that is
rolled back, so tests never see each other's changes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import POSTGRES_ADMIN_URL, _postgres_admin
from touchline.auth import service as users
from touchline.auth.models import User
from touchline.auth.policy import SYSTEM
from touchline.db import make_engine
from touchline.migrations import upgrade


class Caller:
    """Calls the API as one user, by bearer token."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, json: object = None, **kwargs):
        return self.client.post(
            path, json=json if json is not None else {}, headers=self.headers, **kwargs
        )

    def patch(self, path: str, json: object, **kwargs):
        return self.client.patch(path, json=json, headers=self.headers, **kwargs)

    def put(self, path: str, json: object, **kwargs):
        return self.client.put(path, json=json, headers=self.headers, **kwargs)


def caller(db: Session, client: TestClient, user: User) -> Caller:
    """Return an API caller acting as ``user``."""
    token = users.issue_token(db, actor=SYSTEM, user=user, name="test")
    db.commit()
    return Caller(client, token)


class DemoDatabases:
    """The demo company in a database of its own per backend, built on first use.

    Apart from the shared test database, so the demo's rows never hold a lock that other
    tests wait for; built once per run whatever order the tests run in.
    """

    def __init__(self, folder) -> None:
        self.folder = folder
        self.engines: dict[str, Engine] = {}
        self.dropped: list[str] = []

    def get(self, backend: str) -> Engine:
        if backend not in self.engines:
            self.engines[backend] = self._build(backend)
        return self.engines[backend]

    def _build(self, backend: str) -> Engine:
        from touchline.demo.flows import build

        if backend == "sqlite":
            url = f"sqlite:///{self.folder / 'demo.db'}"
        else:
            admin = _postgres_admin()
            if isinstance(admin, str):
                pytest.skip(admin)
            name = f"touchline_demo_{uuid.uuid4().hex[:12]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.dropped.append(name)
            url = re.sub(r"/[^/]*$", f"/{name}", POSTGRES_ADMIN_URL)
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine) as session:
            build(session, size="small", seed=7)
            session.commit()
        return engine

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        if self.dropped:
            admin = _postgres_admin()
            if not isinstance(admin, str):
                with admin.connect() as connection:
                    for name in self.dropped:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory) -> Iterator[DemoDatabases]:
    databases = DemoDatabases(tmp_path_factory.mktemp("coaching-demo"))
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_engine(request: pytest.FixtureRequest, demo_databases: DemoDatabases) -> Engine:
    """The small demo company (seed 7) on each backend; change it only in a transaction."""
    return demo_databases.get(request.param)


@pytest.fixture
def demo_factory(demo_engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on the demo company inside a transaction rolled back after the test."""
    with demo_engine.connect() as connection:
        outer = connection.begin()
        try:
            yield sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
        finally:
            outer.rollback()


@pytest.fixture
def demo_db(demo_factory: sessionmaker[Session]) -> Iterator[Session]:
    with demo_factory() as session:
        yield session
