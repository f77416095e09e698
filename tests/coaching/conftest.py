"""Helpers for coaching tests: API callers by token, and the demo company built once.

``demo_db`` holds the small demo company (seed 7), built once per backend for every
coaching test module in an outer transaction that is rolled back at the end; each test
runs in a savepoint of its own, so tests never see each other's changes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from touchline.app import create_app
from touchline.auth import service as users
from touchline.auth.models import User
from touchline.auth.policy import SYSTEM


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


@pytest.fixture(scope="package")
def demo_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose outer transaction holds the small demo company (seed 7)."""
    from touchline.demo.flows import build

    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        build(session, size="small", seed=7)
        session.commit()
        session.close()
        try:
            yield connection
        finally:
            outer.rollback()


@pytest.fixture
def demo_factory(demo_connection: Connection) -> Iterator[sessionmaker[Session]]:
    """Sessions on the demo company inside a savepoint rolled back after the test."""
    nested = demo_connection.begin_nested()
    try:
        yield sessionmaker(
            bind=demo_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
    finally:
        if nested.is_active:
            nested.rollback()


@pytest.fixture
def demo_db(demo_factory: sessionmaker[Session]) -> Iterator[Session]:
    with demo_factory() as session:
        yield session


@pytest.fixture
def demo_client(settings, engine: Engine, demo_factory) -> Iterator[TestClient]:
    """A test client of the app on the demo company."""
    app = create_app(settings, engine=engine, session_factory=demo_factory)
    with TestClient(app, follow_redirects=False) as client:
        yield client
