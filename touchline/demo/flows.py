"""Writing the demo company into a database, with a user for every role."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from touchline.auth.models import Role, User
from touchline.auth.passwords import hash_password
from touchline.auth.policy import SYSTEM
from touchline.db import Base
from touchline.demo.company import DEMO_DOMAIN, DemoCompany
from touchline.instance import get_value, set_value
from touchline.org import service as org
from touchline.org.models import Seller, Unit
from touchline.org.schemas import SellerCreate, TerritoryCreate, UnitCreate, UnitUpdate

DEMO_PASSWORDS = {
    Role.ADMIN: "admin-demo",
    Role.LEADER: "leader-demo",
    Role.MANAGER: "manager-demo",
    Role.SELLER: "seller-demo",
}
DEMO_MARKER = "demo_company"


@dataclass(frozen=True)
class DemoLogin:
    """A demo account printed at start: who it is and how to sign in."""

    role: Role
    email: str
    password: str
    who: str


class NotEmpty(RuntimeError):
    """The database holds data that is not a demo company: the demo will not touch it."""


def is_demo(session: Session) -> bool:
    """True when the database was filled by the demo."""
    return get_value(session, DEMO_MARKER) is not None


def demo_logins(session: Session) -> list[DemoLogin]:
    """Return the logins the demo printed when it built the company."""
    stored = json.loads(get_value(session, DEMO_MARKER) or "[]")
    return [
        DemoLogin(Role(row["role"]), row["email"], row["password"], row["who"]) for row in stored
    ]


def wipe(engine: Engine) -> None:
    """Remove every table of the demo database (the caller migrates it afresh).

    A SQLite file is simply deleted; on PostgreSQL the tables are dropped.
    """
    import touchline.models  # noqa: F401 (every table must be known to drop them all)

    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        engine.dispose()
        path = Path(str(engine.url.database))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def is_empty(session: Session) -> bool:
    """True when the database has no units, sellers or users."""
    return not any(
        session.scalar(select(func.count()).select_from(model)) for model in (Unit, Seller, User)
    )


def write_company(
    session: Session,
    company: DemoCompany,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[DemoLogin]:
    """Write the demo organisation and its users; return the logins to print.

    Refuses with NotEmpty when the database already holds anything.
    """
    if not is_empty(session):
        raise NotEmpty("The database already holds data; the demo needs an empty one.")
    for territory in company.territories:
        org.create_territory(
            session,
            actor=SYSTEM,
            territory_in=TerritoryCreate(
                external_id=territory.external_id,
                name=territory.name,
                market_potential=territory.market_potential,
                region=territory.region,
            ),
        )
    for unit in company.units:
        org.create_unit(
            session,
            actor=SYSTEM,
            unit_in=UnitCreate(
                external_id=unit.external_id, name=unit.name, kind=unit.kind, parent=unit.parent
            ),
        )
    for seller in company.sellers:
        org.create_seller(
            session,
            actor=SYSTEM,
            seller_in=SellerCreate(
                external_id=seller.external_id,
                name=seller.name,
                email=seller.email,
                unit=seller.unit,
                manager=seller.manager,
                territory=seller.territory,
                hire_date=seller.hire_date,
            ),
        )
        if progress:
            progress(1)
    for unit in company.units:
        if unit.manager:
            managed = org.get_unit(session, actor=SYSTEM, external_id=unit.external_id)
            org.update_unit(
                session, actor=SYSTEM, unit=managed, unit_in=UnitUpdate(manager=unit.manager)
            )
    logins = _create_users(session, company)
    set_value(session, DEMO_MARKER, json.dumps([asdict(login) for login in logins]))
    session.flush()
    return logins


def _create_users(session: Session, company: DemoCompany) -> list[DemoLogin]:
    hashes = {role: hash_password(password) for role, password in DEMO_PASSWORDS.items()}
    ids = dict(session.execute(select(Seller.external_id, Seller.id)).all())
    managers = {unit.manager: unit for unit in company.units if unit.manager}
    director = company.units[0].manager
    session.add(
        User(
            email=f"admin@{DEMO_DOMAIN}",
            name="Admin",
            role=Role.ADMIN,
            password_hash=hashes[Role.ADMIN],
        )
    )
    logins = [DemoLogin(Role.ADMIN, f"admin@{DEMO_DOMAIN}", DEMO_PASSWORDS[Role.ADMIN], "Admin")]
    first_manager: DemoLogin | None = None
    first_seller: DemoLogin | None = None
    for seller in company.sellers:
        if seller.external_id == director:
            role = Role.LEADER
        elif seller.external_id in managers:
            role = Role.MANAGER
        else:
            role = Role.SELLER
        session.add(
            User(
                email=seller.email,
                name=seller.name,
                role=role,
                seller_id=ids[seller.external_id],
                password_hash=hashes[role],
            )
        )
        login = DemoLogin(role, seller.email, DEMO_PASSWORDS[role], seller.name)
        if role is Role.LEADER:
            logins.append(login)
        elif (
            role is Role.MANAGER
            and first_manager is None
            and managers[seller.external_id].kind == "team"
        ):
            first_manager = login
            team = managers[seller.external_id].external_id
        elif (
            role is Role.SELLER
            and first_seller is None
            and first_manager is not None
            and seller.unit == team
        ):
            first_seller = login
    logins.extend(login for login in (first_manager, first_seller) if login)
    session.flush()
    return logins
