"""JSON routes of the KPIs: the catalogue, its versions, and a seller's scorecard."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from touchline.deps import Db, LeaderUp, ManagerUp, SignedIn
from touchline.kpis import catalogue, entries, objectives
from touchline.kpis.schemas import KpiCreate, KpiRead, KpiUpdate
from touchline.kpis.service import chosen_period
from touchline.org import service as org

router = APIRouter(prefix="/api/v1", tags=["kpis"])


@router.get("/kpis")
def list_kpis(db: Db, actor: SignedIn) -> list[KpiRead]:
    return [catalogue.read_kpi(db, kpi) for kpi in catalogue.list_kpis(db, actor=actor)]


@router.get("/kpis/{code}")
def get_kpi(db: Db, actor: SignedIn, code: str) -> KpiRead:
    return catalogue.read_kpi(db, catalogue.get_kpi(db, code))


@router.post("/kpis", status_code=201)
def create_kpi(db: Db, actor: LeaderUp, kpi_in: KpiCreate) -> KpiRead:
    return catalogue.read_kpi(db, catalogue.create_kpi(db, actor=actor, kpi_in=kpi_in))


@router.patch("/kpis/{code}")
def update_kpi(db: Db, actor: LeaderUp, code: str, kpi_in: KpiUpdate) -> KpiRead:
    kpi = catalogue.get_kpi(db, code)
    catalogue.update_kpi(db, actor=actor, kpi=kpi, kpi_in=kpi_in)
    return catalogue.read_kpi(db, kpi)


class EntryIn(BaseModel):
    kpi: str
    period: str
    value: float
    note: str = ""


class EntryRead(BaseModel):
    kpi: str
    period: str
    value: float
    note: str
    entered_by: str


@router.get("/sellers/{external_id}/entries")
def list_entries(db: Db, actor: SignedIn, external_id: str) -> list[EntryRead]:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    codes = {kpi.id: kpi.code for kpi in catalogue.list_kpis(db, actor=actor)}
    return [
        EntryRead(
            kpi=codes[entry.kpi_id],
            period=entry.period,
            value=entry.value,
            note=entry.note,
            entered_by=entry.entered_by,
        )
        for entry in entries.entries_of(db, actor=actor, seller=seller)
    ]


@router.post("/sellers/{external_id}/entries", status_code=201)
def add_entry(db: Db, actor: SignedIn, external_id: str, entry_in: EntryIn) -> EntryRead:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    entry = entries.enter_value(
        db,
        actor=actor,
        seller=seller,
        kpi_code=entry_in.kpi,
        period=entry_in.period,
        value=entry_in.value,
        note=entry_in.note,
    )
    return EntryRead(
        kpi=entry_in.kpi,
        period=entry.period,
        value=entry.value,
        note=entry.note,
        entered_by=entry.entered_by,
    )


class ObjectiveIn(BaseModel):
    title: str
    description: str = ""
    parent_id: int | None = None
    unit: str | None = None
    seller: str | None = None
    weight: float = 1.0


class ObjectiveRead(BaseModel):
    id: int
    title: str
    scope: str
    weight: float
    progress: float | None
    kpis: list[str]
    children: list[ObjectiveRead]


def _objective_read(node: objectives.ObjectiveNode) -> ObjectiveRead:
    return ObjectiveRead(
        id=node.objective.id,
        title=node.objective.title,
        scope=node.scope,
        weight=node.objective.weight,
        progress=node.progress,
        kpis=[kpi.code for kpi, _name, _attained in node.kpis],
        children=[_objective_read(child) for child in node.children],
    )


@router.get("/objectives")
def list_objectives(db: Db, actor: SignedIn, period: str | None = None) -> list[ObjectiveRead]:
    roots = objectives.objective_tree(db, actor=actor, period=chosen_period(period))
    return [_objective_read(root) for root in roots]


@router.post("/objectives", status_code=201)
def create_objective(db: Db, actor: ManagerUp, objective_in: ObjectiveIn) -> dict[str, int]:
    created = objectives.create_objective(
        db,
        actor=actor,
        title=objective_in.title,
        description=objective_in.description,
        parent_id=objective_in.parent_id,
        unit=org.get_unit(db, actor=actor, external_id=objective_in.unit)
        if objective_in.unit
        else None,
        seller=org.get_seller(db, actor=actor, external_id=objective_in.seller)
        if objective_in.seller
        else None,
        weight=objective_in.weight,
    )
    return {"id": created.id}
