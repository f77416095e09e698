"""Fixtures and small factories of the ratings tests.

The small company of ``tests/factories.py`` with its rating scales; customer accounts
whose deals give them a customer status; ratings written as an import would; and the
demo company, built once per run on its own SQLite file only: it takes 10 to 25 s, and
what it plants does not depend on the backend (the paths that do run on both backends in
the other tests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from tests.demo_company import bearer_token
from tests.factories import Org, make_org
from touchline.auth.models import User
from touchline.auth.policy import Actor, actor_for
from touchline.crm.models import Account, Activity, Deal, RatingRecord
from touchline.demo.flows import DEMO_MARKER
from touchline.instance import get_value
from touchline.kpis.catalogue import get_kpi
from touchline.kpis.compute import company_today, compute_period
from touchline.kpis.models import KpiValue, SubjectKind
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, parse_period
from touchline.ratings.scales import sync_builtin_scales

# The quarter most tests rate: in the past, so only what a test does changes it.
PERIOD = "2026-Q1"


# The users of tests/factories.py by key.
USERS = {
    "admin": "admin@example.com",
    "leader": "leader@example.com",
    "head": "head@example.com",
    "manager": "manager@example.com",
    "manager2": "manager2@example.com",
    "seller": "seller@example.com",
}


@pytest.fixture(scope="module")
def company_connection(engine: Engine) -> Iterator[Connection]:
    """A connection per module and backend holding the small company and the built-in
    rating scales, in a transaction rolled back after the module: building them costs
    more than most tests."""
    with engine.connect() as connection:
        outer = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            make_org(session)
            sync_builtin_scales(session)
            session.commit()
        try:
            yield connection
        finally:
            outer.rollback()


@pytest.fixture
def connection(company_connection: Connection) -> Iterator[Connection]:
    """The module's connection inside a savepoint rolled back after the test, so every
    test starts from the same small company."""
    savepoint = company_connection.begin_nested()
    try:
        yield company_connection
    finally:
        if savepoint.is_active:
            savepoint.rollback()


@pytest.fixture
def org(db: Session) -> Org:
    """The small company (Team One: Anne A1 and Arne A2, managed by Mette M1) with the
    built-in rating scales and anchors, as the test's session sees it."""
    return Org(
        units={unit.external_id: unit for unit in db.scalars(select(Unit))},
        sellers={seller.external_id: seller for seller in db.scalars(select(Seller))},
        users={
            key: db.scalars(select(User).where(User.email == email)).one()
            for key, email in USERS.items()
        },
    )


@pytest.fixture
def client_as(app, db: Session) -> Iterator[Callable[[User | None], TestClient]]:
    """Open a client on the app acting as a user (or nobody), several side by side.

    The user is signed in with an API token: a password sign-in costs an Argon2 hash,
    about a second a test; signing in itself is tested in tests/auth.
    """
    with ExitStack() as stack:

        def open_as(user: User | None) -> TestClient:
            client = stack.enter_context(TestClient(app, follow_redirects=False))
            if user is not None:
                client.headers["Authorization"] = f"Bearer {bearer_token(db, user)}"
            return client

        yield open_as


def actor(db: Session, org: Org, key: str) -> Actor:
    return actor_for(db, org.users[key])


def quarter(label: str = PERIOD) -> Period:
    return parse_period(label, fiscal_start_month=1)


def compute(db: Session, label: str = PERIOD) -> None:
    """Compute the period, as `touchline compute` would; later changes refresh it."""
    compute_period(db, quarter(label))
    db.flush()


def rate(
    db: Session,
    seller: Seller,
    kpi: str,
    role: str,
    *scores: float,
    period: str = PERIOD,
    rater: str | None = None,
    hidden: bool = False,
) -> None:
    """Store ratings of ``seller`` as an imported ratings.csv would: one row per score."""
    for score in scores:
        db.add(
            RatingRecord(
                kpi=kpi,
                seller_id=seller.id,
                rater_role=role,
                period=period,
                score=score,
                rater_id=rater,
                hidden=hidden,
            )
        )
    db.flush()


def kpi_value(
    db: Session,
    code: str,
    *,
    seller: Seller | None = None,
    unit: Unit | None = None,
    period: str = PERIOD,
) -> float | None:
    """The stored value a card shows for the seller (or unit) and period, or None."""
    if seller is not None:
        kind, subject = SubjectKind.SELLER, seller.id
    else:
        assert unit is not None
        kind, subject = SubjectKind.UNIT, unit.id
    return db.scalar(
        select(KpiValue.value).where(
            KpiValue.kpi_id == get_kpi(db, code).id,
            KpiValue.period == period,
            KpiValue.subject_kind == kind,
            KpiValue.subject_id == subject,
        )
    )


def count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def add_accounts(db: Session, org: Org) -> dict[str, Account]:
    """Three accounts sold to by Anne: ACME an existing customer (won a month ago), OLDCO
    a lost one (last won three years ago), NEWCO a prospect (an open deal only)."""
    today = company_today()
    accounts = {}
    deals = {
        "ACME": ("won", today - timedelta(days=30)),
        "OLDCO": ("won", today - timedelta(days=3 * 365)),
        "NEWCO": ("open", None),
    }
    for number, (key, (status, closed)) in enumerate(deals.items()):
        account = Account(external_id=key, name=key.title())
        db.add(account)
        db.flush()
        db.add(
            Deal(
                external_id=f"D-{key}",
                account_id=account.id,
                seller_id=org.sellers["A1"].id,
                created_date=(closed or today) - timedelta(days=60 + number),
                close_date=closed,
                status=status,
                amount_cents=100_000,
            )
        )
        accounts[key] = account
    db.flush()
    return accounts


def contacts_csv(
    *rows: str, header: str = "seller_id,contact_name,email,account_id,language"
) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def token_of(url: str) -> str:
    """The token at the end of a survey link."""
    match = re.search(r"/survey/([^/?#]+)$", url)
    assert match, url
    return match.group(1)


# The demo company ------------------------------------------------------------------


def demo_last_day(db: Session) -> date:
    """The last day of the demo's data: its "today"."""
    day = db.scalar(select(func.max(Activity.occurred_on)))
    assert day is not None
    return day


def demo_marker(db: Session) -> dict[str, Any]:
    """What the demo planted: the over-confident seller, the low-energy team, ..."""
    return dict(json.loads(get_value(db, DEMO_MARKER) or "{}"))
