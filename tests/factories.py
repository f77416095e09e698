"""Small factories: a company with two regions, three teams and a user for every role.

Nordic (company, managed by D)
├── North (region, managed by H)
│   ├── Team One (managed by M1): A1, A2
│   └── Team Two (managed by M2): B1
└── South (region): Team Three: C1
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from sqlalchemy.orm import Session

from touchline.auth.models import Role, User
from touchline.auth.passwords import hash_password
from touchline.org.models import Seller, Territory, Unit

PASSWORD = "correct-horse-battery"


@cache
def _password_hash() -> str:
    # One Argon2 hash per run keeps the suite fast; every factory user shares it.
    return hash_password(PASSWORD)


@dataclass
class Org:
    units: dict[str, Unit]
    sellers: dict[str, Seller]
    users: dict[str, User]


def make_user(session: Session, email: str, role: Role, seller: Seller | None = None) -> User:
    user = User(
        email=email,
        name=seller.name if seller else email.split("@")[0].title(),
        role=role.value,
        seller_id=seller.id if seller else None,
        password_hash=_password_hash(),
    )
    session.add(user)
    session.flush()
    return user


def make_org(session: Session) -> Org:
    """Build the small company above and return its units, sellers and users by key."""
    units: dict[str, Unit] = {}

    def unit(key: str, name: str, kind: str, parent: str | None) -> Unit:
        row = Unit(
            external_id=key,
            name=name,
            kind=kind,
            parent_id=units[parent].id if parent else None,
        )
        session.add(row)
        session.flush()
        units[key] = row
        return row

    unit("C", "Nordic", "company", None)
    unit("N", "North", "region", "C")
    unit("S", "South", "region", "C")
    unit("T1", "Team One", "team", "N")
    unit("T2", "Team Two", "team", "N")
    unit("T3", "Team Three", "team", "S")

    territory = Territory(external_id="TER1", name="Fyn", market_potential=Decimal("1200000.00"))
    session.add(territory)
    session.flush()

    sellers: dict[str, Seller] = {}

    def seller(key: str, name: str, unit_key: str, manager: str | None) -> Seller:
        row = Seller(
            external_id=key,
            name=name,
            email=f"{key.lower()}@example.com",
            unit_id=units[unit_key].id,
            manager_id=sellers[manager].id if manager else None,
            territory_id=territory.id if key == "A1" else None,
            hire_date=date(2020, 1, 15),
        )
        session.add(row)
        session.flush()
        sellers[key] = row
        return row

    seller("D", "Dora Director", "C", None)
    seller("H", "Hans Head", "C", "D")
    seller("M1", "Mette Manager", "N", "H")
    seller("M2", "Mads Manager", "N", "H")
    seller("A1", "Anne Andersen", "T1", "M1")
    seller("A2", "Arne Aas", "T1", "M1")
    seller("B1", "Bente Berg", "T2", "M2")
    seller("C1", "Carla Conti", "T3", None)

    units["C"].manager_id = sellers["D"].id
    units["N"].manager_id = sellers["H"].id
    units["T1"].manager_id = sellers["M1"].id
    units["T2"].manager_id = sellers["M2"].id
    session.flush()

    users = {
        "admin": make_user(session, "admin@example.com", Role.ADMIN),
        "leader": make_user(session, "leader@example.com", Role.LEADER, sellers["D"]),
        "head": make_user(session, "head@example.com", Role.MANAGER, sellers["H"]),
        "manager": make_user(session, "manager@example.com", Role.MANAGER, sellers["M1"]),
        "manager2": make_user(session, "manager2@example.com", Role.MANAGER, sellers["M2"]),
        "seller": make_user(session, "seller@example.com", Role.SELLER, sellers["A1"]),
    }
    session.commit()
    return Org(units=units, sellers=sellers, users=users)
