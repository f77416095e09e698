"""JSON routes of the KPIs: the catalogue, its versions, and a seller's scorecard."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from touchline.deps import Db, LeaderUp, ManagerUp, SignedIn
from touchline.kpis import assignments, catalogue, entries, objectives
from touchline.kpis.governance import template_checks
from touchline.kpis.heatmap import unit_heatmap
from touchline.kpis.models import Kpi
from touchline.kpis.schemas import KpiCreate, KpiRead, KpiUpdate
from touchline.kpis.scorecards import seller_scorecard
from touchline.kpis.service import chosen_period
from touchline.org import service as org

router = APIRouter(prefix="/api/v1", tags=["kpis"])


class CardLineRead(BaseModel):
    kpi: str
    name: str
    level: str
    weight: float
    actual: float | None
    target: float | None
    expected_by_now: float | None
    attainment: float | None
    light: str
    decision_rule: str
    history: list[tuple[str, float | None]]
    imposed: bool


class ScorecardRead(BaseModel):
    seller: str
    period: str
    template: str | None
    lines: list[CardLineRead]
    level_scores: dict[str, float | None]
    balanced_index: float | None
    capacity: float | None
    capacity_weak: bool
    warnings: list[str]


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


class HeatmapRow(BaseModel):
    seller: str
    name: str
    balanced_index: float | None
    attainment: dict[str, float | None]
    light: dict[str, str]


class HeatmapRead(BaseModel):
    unit: str
    period: str
    kpis: list[str]
    rows: list[HeatmapRow]


@router.get("/units/{external_id}/heatmap")
def get_heatmap(
    db: Db,
    actor: SignedIn,
    external_id: str,
    period: str | None = None,
    sort: str = "name",
    desc: bool = False,
) -> HeatmapRead:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    found = unit_heatmap(
        db, actor=actor, unit=unit, period=chosen_period(period), sort=sort, descending=desc
    )
    return HeatmapRead(
        unit=unit.external_id,
        period=found.period.label,
        kpis=[kpi.code for kpi in found.columns],
        rows=[
            HeatmapRow(
                seller=card.seller.external_id,
                name=card.seller.name,
                balanced_index=card.balanced_index,
                attainment={line.kpi.code: line.attainment for line in card.lines},
                light={line.kpi.code: line.light for line in card.lines},
            )
            for card in found.cards
        ],
    )


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


@router.get("/sellers/{external_id}/scorecard")
def get_scorecard(
    db: Db, actor: SignedIn, external_id: str, period: str | None = None
) -> ScorecardRead:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    card = seller_scorecard(db, actor=actor, seller=seller, period=chosen_period(period))
    return ScorecardRead(
        seller=seller.external_id,
        period=card.period.label,
        template=card.template.name if card.template else None,
        lines=[
            CardLineRead(
                kpi=line.kpi.code,
                name=line.name,
                level=line.kpi.level,
                weight=line.weight,
                actual=line.actual,
                target=line.target,
                expected_by_now=line.expected_by_now,
                attainment=line.attainment,
                light=line.light,
                decision_rule=line.decision_rule,
                history=line.history,
                imposed=line.imposed,
            )
            for line in card.lines
        ],
        level_scores=card.level_scores,
        balanced_index=card.balanced_index,
        capacity=card.capacity,
        capacity_weak=card.capacity_weak,
        warnings=card.warnings,
    )


class LineIn(BaseModel):
    kpi: str
    weight: float = 0.0
    target: float | None = None
    green_from: float | None = None
    amber_from: float | None = None


class TemplateIn(BaseModel):
    description: str = ""
    lines: list[LineIn]


class TemplateRead(BaseModel):
    name: str
    description: str
    lines: list[LineIn]
    assigned_to: list[str]
    active_kpis: int
    weight_total: float
    missing_levels: list[str]


class AssignmentIn(BaseModel):
    unit: str | None = None
    seller: str | None = None


class UnitTargetIn(BaseModel):
    kpi: str
    target: float


def _template_reads(db: Db) -> list[TemplateRead]:
    lines = assignments.template_lines(db)
    assigned = assignments.assignment_labels(db)
    codes = {kpi.id: kpi.code for kpi in db.scalars(select(Kpi))}
    return [
        TemplateRead(
            name=check.template.name,
            description=check.template.description,
            lines=[
                LineIn(
                    kpi=codes[line.kpi_id],
                    weight=line.weight,
                    target=line.target,
                    green_from=line.green_from,
                    amber_from=line.amber_from,
                )
                for line in lines.get(check.template.id, [])
            ],
            assigned_to=assigned.get(check.template.id, []),
            active_kpis=check.active_kpis,
            weight_total=check.weight_total,
            missing_levels=check.missing_levels,
        )
        for check in template_checks(db)
    ]


@router.get("/scorecard-templates")
def list_templates(db: Db, actor: ManagerUp) -> list[TemplateRead]:
    return _template_reads(db)


@router.put("/scorecard-templates/{name}")
def save_template(db: Db, actor: LeaderUp, name: str, template_in: TemplateIn) -> TemplateRead:
    assignments.save_template(
        db,
        actor=actor,
        name=name,
        description=template_in.description,
        lines=[assignments.LineSpec(**line.model_dump()) for line in template_in.lines],
    )
    return next(read for read in _template_reads(db) if read.name == name)


@router.post("/scorecard-templates/{name}/assignments", status_code=201)
def assign_template(
    db: Db, actor: ManagerUp, name: str, assignment_in: AssignmentIn
) -> TemplateRead:
    template = assignments.get_template(db, name)
    assignments.assign_template(
        db,
        actor=actor,
        template=template,
        unit=org.get_unit(db, actor=actor, external_id=assignment_in.unit)
        if assignment_in.unit
        else None,
        seller=org.get_seller(db, actor=actor, external_id=assignment_in.seller)
        if assignment_in.seller
        else None,
    )
    return next(read for read in _template_reads(db) if read.name == name)


@router.put("/sellers/{external_id}/scorecard/lines/{kpi}")
def set_seller_line(db: Db, actor: SignedIn, external_id: str, kpi: str, line_in: LineIn) -> LineIn:
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    spec = assignments.LineSpec(**(line_in.model_dump() | {"kpi": kpi}))
    assignments.set_seller_line(db, actor=actor, seller=seller, spec=spec)
    return LineIn(**spec.__dict__)


@router.post("/units/{external_id}/targets")
def set_unit_targets(
    db: Db, actor: ManagerUp, external_id: str, target_in: UnitTargetIn
) -> dict[str, int]:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    count = assignments.set_unit_targets(
        db, actor=actor, unit=unit, kpi_code=target_in.kpi, target=target_in.target
    )
    return {"sellers": count}


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
