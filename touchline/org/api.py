"""JSON routes of the organisation: units, territories and sellers, by external id."""

from __future__ import annotations

from fastapi import APIRouter, Query

from touchline.deps import AdminOnly, Db, SignedIn
from touchline.org import service
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

router = APIRouter(prefix="/api/v1", tags=["organisation"])


@router.get("/units")
def list_units(db: Db, actor: SignedIn) -> list[UnitRead]:
    """The units you may see."""
    return service.list_units(db, actor=actor)


@router.get("/units/{external_id}")
def get_unit(db: Db, actor: SignedIn, external_id: str) -> UnitRead:
    """One unit you may see."""
    return service.read_unit(db, actor=actor, external_id=external_id)


@router.post("/units", status_code=201)
def create_unit(db: Db, actor: AdminOnly, unit_in: UnitCreate) -> UnitRead:
    """Create a unit (admins only)."""
    unit = service.create_unit(db, actor=actor, unit_in=unit_in)
    return service.read_unit(db, actor=actor, external_id=unit.external_id)


@router.patch("/units/{external_id}")
def update_unit(db: Db, actor: AdminOnly, external_id: str, unit_in: UnitUpdate) -> UnitRead:
    """Change a unit (admins only); fields left out stay as they are."""
    unit = service.get_unit(db, actor=actor, external_id=external_id)
    service.update_unit(db, actor=actor, unit=unit, unit_in=unit_in)
    return service.read_unit(db, actor=actor, external_id=external_id)


@router.get("/territories")
def list_territories(db: Db, actor: SignedIn) -> list[TerritoryRead]:
    """Every territory with its market potential."""
    return service.list_territories(db, actor=actor)


@router.post("/territories", status_code=201)
def create_territory(db: Db, actor: AdminOnly, territory_in: TerritoryCreate) -> TerritoryRead:
    """Create a territory (admins only)."""
    territory = service.create_territory(db, actor=actor, territory_in=territory_in)
    return TerritoryRead.model_validate(territory, from_attributes=True)


@router.patch("/territories/{external_id}")
def update_territory(
    db: Db, actor: AdminOnly, external_id: str, territory_in: TerritoryUpdate
) -> TerritoryRead:
    """Change a territory (admins only)."""
    territory = service.get_territory(db, actor=actor, external_id=external_id)
    service.update_territory(db, actor=actor, territory=territory, territory_in=territory_in)
    return TerritoryRead.model_validate(territory, from_attributes=True)


@router.get("/sellers")
def list_sellers(
    db: Db,
    actor: SignedIn,
    q: str | None = Query(default=None, description="Part of a name, e-mail or external id"),
    unit: str | None = Query(default=None, description="A unit's external id (with sub-units)"),
    include_inactive: bool = False,
) -> list[SellerRead]:
    """The sellers you may see."""
    return service.list_sellers(
        db, actor=actor, search=q, unit_external_id=unit, include_inactive=include_inactive
    )


@router.get("/sellers/{external_id}")
def get_seller(db: Db, actor: SignedIn, external_id: str) -> SellerRead:
    """One seller you may see."""
    return service.read_seller(db, actor=actor, external_id=external_id)


@router.post("/sellers", status_code=201)
def create_seller(db: Db, actor: AdminOnly, seller_in: SellerCreate) -> SellerRead:
    """Create a seller (admins only)."""
    seller = service.create_seller(db, actor=actor, seller_in=seller_in)
    return service.read_seller_unchecked(db, seller)


@router.patch("/sellers/{external_id}")
def update_seller(
    db: Db, actor: AdminOnly, external_id: str, seller_in: SellerUpdate
) -> SellerRead:
    """Change a seller (admins only); fields left out stay as they are."""
    seller = service.get_seller(db, actor=actor, external_id=external_id)
    service.update_seller(db, actor=actor, seller=seller, seller_in=seller_in)
    return service.read_seller_unchecked(db, seller)
