"""Units, territories and sellers: reading them through the visibility policy, changing them.

Everything is addressed by external id, the id the CRM knows. Changes check the
whole organisation's shape before they are written: a cycle in the unit tree or
the manager chain, a duplicate external id or an unknown reference is refused
and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from touchline.audit import service as audit
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.errors import Conflict, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.org.models import Seller, Territory, Unit
from touchline.org.schemas import (
    SellerCreate,
    SellerRead,
    SellerUpdate,
    TerritoryCreate,
    TerritoryRead,
    TerritoryUpdate,
    UnitCreate,
    UnitRead,
    UnitUpdate,
)
from touchline.org.structure import describe_cycle, find_cycle

# --- units -------------------------------------------------------------------------


def _unit_by_external_id(session: Session, external_id: str, *, field_name: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.external_id == external_id))
    if unit is None:
        raise InvalidInput(
            _("No unit with the external id %(id)s.", id=repr(external_id)), field=field_name
        )
    return unit


def _seller_ref(session: Session, external_id: str, *, field_name: str) -> Seller:
    seller = session.scalar(select(Seller).where(Seller.external_id == external_id))
    if seller is None:
        raise InvalidInput(
            _("No seller with the external id %(id)s.", id=repr(external_id)), field=field_name
        )
    return seller


def _unit_reads(session: Session, actor: Actor, query: Select[Unit]) -> list[UnitRead]:
    parent = aliased(Unit)
    manager = aliased(Seller)
    counts = (
        select(Seller.unit_id, func.count().label("n"))
        .where(Seller.active, actor.sellers_clause())
        .group_by(Seller.unit_id)
        .subquery()
    )
    rows = session.execute(
        query.add_columns(parent.external_id, manager.external_id, counts.c.n)
        .outerjoin(parent, Unit.parent_id == parent.id)
        .outerjoin(manager, Unit.manager_id == manager.id)
        .outerjoin(counts, counts.c.unit_id == Unit.id)
        .where(actor.units_clause())
        .order_by(Unit.name, Unit.external_id)
    ).all()
    return [
        UnitRead(
            external_id=unit.external_id,
            name=unit.name,
            kind=unit.kind,
            parent=parent_id,
            manager=manager_id,
            sellers=n or 0,
        )
        for unit, parent_id, manager_id, n in rows
    ]


def list_units(session: Session, *, actor: Actor) -> list[UnitRead]:
    """Return the units ``actor`` may see, by name."""
    return _unit_reads(session, actor, select(Unit))


def get_unit(session: Session, *, actor: Actor, external_id: str) -> Unit:
    """Return the unit with ``external_id``; NotFound when absent or not visible to ``actor``."""
    unit = session.scalar(select(Unit).where(Unit.external_id == external_id, actor.units_clause()))
    if unit is None:
        raise NotFound(_("No unit %(id)s that you may see.", id=repr(external_id)), field="unit")
    return unit


def read_unit(session: Session, *, actor: Actor, external_id: str) -> UnitRead:
    """Return the API shape of one visible unit; NotFound otherwise."""
    unit = get_unit(session, actor=actor, external_id=external_id)
    return _unit_reads(session, actor, select(Unit).where(Unit.id == unit.id))[0]


@dataclass
class UnitNode:
    """A unit in the tree view, with the units below it."""

    unit: UnitRead
    children: list[UnitNode] = field(default_factory=list)
    manager_name: str | None = None

    @property
    def total_sellers(self) -> int:
        return self.unit.sellers + sum(child.total_sellers for child in self.children)


def unit_tree(session: Session, *, actor: Actor) -> list[UnitNode]:
    """Return the visible units as a forest: roots are units whose parent one cannot see."""
    reads = list_units(session, actor=actor)
    names = dict(
        session.execute(
            select(Seller.external_id, Seller.name).where(
                Seller.external_id.in_([r.manager for r in reads if r.manager])
            )
        ).all()
    )
    nodes = {
        r.external_id: UnitNode(unit=r, manager_name=names.get(r.manager or "")) for r in reads
    }
    roots: list[UnitNode] = []
    for node in nodes.values():
        parent = nodes.get(node.unit.parent or "")
        (parent.children if parent else roots).append(node)
    return roots


def _unit_links(session: Session) -> dict[str, str | None]:
    parent = aliased(Unit)
    query = select(Unit.external_id, parent.external_id).outerjoin(
        parent, Unit.parent_id == parent.id
    )
    return dict(session.execute(query).all())


def _check_unit_parent(session: Session, unit_external_id: str, parent_external_id: str) -> None:
    links = _unit_links(session)
    links[unit_external_id] = parent_external_id
    cycle = find_cycle(links)
    if cycle:
        raise InvalidInput(describe_cycle(cycle, what="unit tree"), field="parent")


def _unit_values(session: Session, unit: Unit) -> dict[str, Any]:
    parent = session.scalar(select(Unit.external_id).where(Unit.id == unit.parent_id))
    manager = session.scalar(select(Seller.external_id).where(Seller.id == unit.manager_id))
    return {
        "name": unit.name,
        "kind": unit.kind,
        "parent": parent if unit.parent_id else None,
        "manager": manager if unit.manager_id else None,
    }


def create_unit(session: Session, *, actor: Actor, unit_in: UnitCreate) -> Unit:
    """Create a unit and return it; admins only.

    Refuses a taken external id and an unknown parent or manager.
    """
    actor.require(Role.ADMIN)
    if session.scalar(select(Unit.id).where(Unit.external_id == unit_in.external_id)):
        raise Conflict(
            _("A unit %(id)s already exists.", id=repr(unit_in.external_id)), field="external_id"
        )
    unit = Unit(external_id=unit_in.external_id, name=unit_in.name.strip(), kind=unit_in.kind)
    if unit_in.parent:
        unit.parent_id = _unit_by_external_id(session, unit_in.parent, field_name="parent").id
    if unit_in.manager:
        unit.manager_id = _seller_ref(session, unit_in.manager, field_name="manager").id
    session.add(unit)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="unit",
        entity_id=unit.external_id,
        after=_unit_values(session, unit),
    )
    return unit


def update_unit(session: Session, *, actor: Actor, unit: Unit, unit_in: UnitUpdate) -> Unit:
    """Change a unit and return it; admins only.

    Refuses a parent that would put the unit below itself, and unknown references.
    """
    actor.require(Role.ADMIN)
    before = _unit_values(session, unit)
    given = unit_in.model_fields_set
    if unit_in.name is not None:
        unit.name = unit_in.name.strip()
    if unit_in.kind is not None:
        unit.kind = unit_in.kind
    if "parent" in given:
        if unit_in.parent:
            _check_unit_parent(session, unit.external_id, unit_in.parent)
            unit.parent_id = _unit_by_external_id(session, unit_in.parent, field_name="parent").id
        else:
            unit.parent_id = None
    if "manager" in given:
        unit.manager_id = (
            _seller_ref(session, unit_in.manager, field_name="manager").id
            if unit_in.manager
            else None
        )
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="update",
        entity="unit",
        entity_id=unit.external_id,
        before=before,
        after=_unit_values(session, unit),
    )
    return unit


# --- territories -------------------------------------------------------------------


def list_territories(session: Session, *, actor: Actor) -> list[TerritoryRead]:
    """Return every territory, by name; territories are not personal, so all roles see them."""
    rows = session.scalars(select(Territory).order_by(Territory.name, Territory.external_id))
    return [TerritoryRead.model_validate(row, from_attributes=True) for row in rows]


def _territory(session: Session, external_id: str, *, field_name: str) -> Territory:
    territory = session.scalar(select(Territory).where(Territory.external_id == external_id))
    if territory is None:
        raise InvalidInput(
            _("No territory with the external id %(id)s.", id=repr(external_id)), field=field_name
        )
    return territory


def get_territory(session: Session, *, actor: Actor, external_id: str) -> Territory:
    """Return the territory with ``external_id``; NotFound when there is none."""
    territory = session.scalar(select(Territory).where(Territory.external_id == external_id))
    if territory is None:
        raise NotFound(_("No territory %(id)s.", id=repr(external_id)), field="territory")
    return territory


def create_territory(session: Session, *, actor: Actor, territory_in: TerritoryCreate) -> Territory:
    """Create a territory and return it; admins only; refuses a taken external id."""
    actor.require(Role.ADMIN)
    if session.scalar(
        select(Territory.id).where(Territory.external_id == territory_in.external_id)
    ):
        raise Conflict(
            _("A territory %(id)s already exists.", id=repr(territory_in.external_id)),
            field="external_id",
        )
    territory = Territory(**territory_in.model_dump())
    session.add(territory)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="territory",
        entity_id=territory.external_id,
        after=territory_in.model_dump(),
    )
    return territory


def update_territory(
    session: Session, *, actor: Actor, territory: Territory, territory_in: TerritoryUpdate
) -> Territory:
    """Change a territory's name, potential or region and return it; admins only."""
    actor.require(Role.ADMIN)
    before = TerritoryRead.model_validate(territory, from_attributes=True).model_dump()
    for name, value in territory_in.model_dump(exclude_unset=True).items():
        if value is None and name != "region":
            raise InvalidInput(_("%(name)s cannot be empty.", name=name), field=name)
        setattr(territory, name, value)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="update",
        entity="territory",
        entity_id=territory.external_id,
        before=before,
        after=TerritoryRead.model_validate(territory, from_attributes=True).model_dump(),
    )
    return territory


# --- sellers -----------------------------------------------------------------------


def _seller_query() -> Select[Seller, str, str, str | None, str | None, str | None]:
    manager = aliased(Seller)
    return (
        select(
            Seller,
            Unit.external_id,
            Unit.name,
            manager.external_id,
            manager.name,
            Territory.external_id,
        )
        .join(Unit, Seller.unit_id == Unit.id)
        .outerjoin(manager, Seller.manager_id == manager.id)
        .outerjoin(Territory, Seller.territory_id == Territory.id)
    )


def _seller_read(row: Any) -> SellerRead:
    seller, unit_id, unit_name, manager_id, manager_name, territory_id = row
    return SellerRead(
        external_id=seller.external_id,
        name=seller.name,
        email=seller.email,
        unit=unit_id,
        unit_name=unit_name,
        manager=manager_id,
        manager_name=manager_name,
        territory=territory_id,
        hire_date=seller.hire_date,
        active=seller.active,
    )


def list_sellers(
    session: Session,
    *,
    actor: Actor,
    search: str | None = None,
    unit_external_id: str | None = None,
    include_inactive: bool = False,
    limit: int = 500,
) -> list[SellerRead]:
    """Return the sellers ``actor`` may see, by name.

    ``search`` matches name, e-mail or external id (case-insensitive); ``unit_external_id``
    keeps the sellers of that unit and every unit below it.
    """
    query = _seller_query().where(actor.sellers_clause())
    if not include_inactive:
        query = query.where(Seller.active)
    if search and search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Seller.name).like(pattern),
                func.lower(Seller.email).like(pattern),
                func.lower(Seller.external_id).like(pattern),
            )
        )
    if unit_external_id:
        from touchline.auth.policy import UnitTree

        unit = get_unit(session, actor=actor, external_id=unit_external_id)
        query = query.where(Seller.unit_id.in_(sorted(UnitTree.load(session).subtree(unit.id))))
    query = query.order_by(Seller.name, Seller.external_id).limit(limit)
    return [_seller_read(row) for row in session.execute(query)]


def get_seller(session: Session, *, actor: Actor, external_id: str) -> Seller:
    """Return the seller with ``external_id``; NotFound when absent or not visible to ``actor``."""
    seller = session.scalar(
        select(Seller).where(Seller.external_id == external_id, actor.sellers_clause())
    )
    if seller is None:
        raise NotFound(
            _("No seller %(id)s that you may see.", id=repr(external_id)), field="seller"
        )
    return seller


def read_seller(session: Session, *, actor: Actor, external_id: str) -> SellerRead:
    """Return the API shape of one visible seller; NotFound otherwise."""
    seller = get_seller(session, actor=actor, external_id=external_id)
    return _seller_read(session.execute(_seller_query().where(Seller.id == seller.id)).one())


def _manager_links(session: Session) -> dict[str, str | None]:
    boss = aliased(Seller)
    query = select(Seller.external_id, boss.external_id).outerjoin(
        boss, Seller.manager_id == boss.id
    )
    return dict(session.execute(query).all())


def _check_manager(session: Session, seller_external_id: str, manager_external_id: str) -> Seller:
    manager = _seller_ref(session, manager_external_id, field_name="manager")
    links = _manager_links(session)
    links[seller_external_id] = manager_external_id
    cycle = find_cycle(links)
    if cycle:
        raise InvalidInput(describe_cycle(cycle, what="manager chain"), field="manager")
    return manager


def _seller_values(session: Session, seller: Seller) -> dict[str, Any]:
    return read_seller_unchecked(session, seller).model_dump()


def read_seller_unchecked(session: Session, seller: Seller) -> SellerRead:
    """Return the API shape of ``seller`` without a visibility check (callers checked)."""
    return _seller_read(session.execute(_seller_query().where(Seller.id == seller.id)).one())


def create_seller(session: Session, *, actor: Actor, seller_in: SellerCreate) -> Seller:
    """Create a seller and return it; admins only.

    Refuses a taken external id, an unknown unit, manager or territory.
    """
    actor.require(Role.ADMIN)
    if session.scalar(select(Seller.id).where(Seller.external_id == seller_in.external_id)):
        raise Conflict(
            _("A seller %(id)s already exists.", id=repr(seller_in.external_id)),
            field="external_id",
        )
    seller = Seller(
        external_id=seller_in.external_id,
        name=seller_in.name.strip(),
        email=_email(seller_in.email),
        unit_id=_unit_by_external_id(session, seller_in.unit, field_name="unit").id,
        hire_date=seller_in.hire_date,
        active=seller_in.active,
    )
    if seller_in.manager:
        seller.manager_id = _seller_ref(session, seller_in.manager, field_name="manager").id
    if seller_in.territory:
        seller.territory_id = _territory(session, seller_in.territory, field_name="territory").id
    session.add(seller)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="seller",
        entity_id=seller.external_id,
        after=_seller_values(session, seller),
    )
    return seller


def _email(value: str) -> str:
    from touchline.auth.service import normalise_email

    return normalise_email(value)


def update_seller(
    session: Session, *, actor: Actor, seller: Seller, seller_in: SellerUpdate
) -> Seller:
    """Change a seller and return it; admins only.

    Refuses a manager that would close a cycle in the manager chain, and unknown references.
    """
    actor.require(Role.ADMIN)
    before = _seller_values(session, seller)
    given = seller_in.model_fields_set
    if seller_in.name is not None:
        seller.name = seller_in.name.strip()
    if seller_in.email is not None:
        seller.email = _email(seller_in.email)
    if seller_in.unit is not None:
        seller.unit_id = _unit_by_external_id(session, seller_in.unit, field_name="unit").id
    if "manager" in given:
        seller.manager_id = (
            _check_manager(session, seller.external_id, seller_in.manager).id
            if seller_in.manager
            else None
        )
    if "territory" in given:
        seller.territory_id = (
            _territory(session, seller_in.territory, field_name="territory").id
            if seller_in.territory
            else None
        )
    if "hire_date" in given:
        seller.hire_date = seller_in.hire_date
    if seller_in.active is not None:
        seller.active = seller_in.active
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="update",
        entity="seller",
        entity_id=seller.external_id,
        before=before,
        after=_seller_values(session, seller),
    )
    return seller


def get_unit_id(session: Session, external_id: str) -> int:
    """Return the internal id of the unit ``external_id``; NotFound when there is none."""
    unit_id = session.scalar(select(Unit.id).where(Unit.external_id == external_id))
    if unit_id is None:
        raise NotFound(_("No unit %(id)s.", id=repr(external_id)), field="unit")
    return unit_id


def territory_of(session: Session, external_id: str | None) -> TerritoryRead | None:
    """Return the territory ``external_id`` in API shape, or None for no territory."""
    if external_id is None:
        return None
    row = session.scalar(select(Territory).where(Territory.external_id == external_id))
    return TerritoryRead.model_validate(row, from_attributes=True) if row else None


def direct_reports(session: Session, *, actor: Actor, external_id: str) -> list[SellerRead]:
    """Return the visible sellers whose manager is the seller ``external_id``."""
    boss = aliased(Seller)
    query = (
        _seller_query()
        .join(boss, Seller.manager_id == boss.id)
        .where(boss.external_id == external_id, Seller.active, actor.sellers_clause())
        .order_by(Seller.name)
    )
    return [_seller_read(row) for row in session.execute(query)]


def unit_ids(session: Session, external_ids: list[str]) -> dict[str, int]:
    """Return the internal ids of the units ``external_ids``, by external id."""
    if not external_ids:
        return {}
    query = select(Unit.external_id, Unit.id).where(Unit.external_id.in_(external_ids))
    return dict(session.execute(query).all())


def count_sellers(session: Session, *, actor: Actor) -> int:
    """Return how many active sellers ``actor`` may see."""
    query = select(func.count()).select_from(Seller).where(Seller.active, actor.sellers_clause())
    return session.scalar(query) or 0
