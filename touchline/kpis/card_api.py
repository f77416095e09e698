"""JSON routes of the cards: seller and unit scorecards, templates, targets, heatmaps and
a unit's KPI values."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from touchline.deps import Db, LeaderUp, ManagerUp, SignedIn
from touchline.kpis import assignments
from touchline.kpis.catalogue import display_name
from touchline.kpis.governance import template_checks
from touchline.kpis.heatmap import unit_heatmap
from touchline.kpis.models import Kpi, SubjectKind
from touchline.kpis.report import stored_or_computed
from touchline.kpis.schemas import (
    AssignmentIn,
    CardLineRead,
    HeatmapRead,
    HeatmapRow,
    LineIn,
    ScorecardRead,
    SellerLineIn,
    TemplateIn,
    TemplateRead,
    UnitKpisRead,
    UnitKpiValue,
    UnitTargetIn,
)
from touchline.kpis.scorecards import CardLine, seller_scorecard
from touchline.kpis.service import chosen_period
from touchline.kpis.unit_cards import unit_scorecard
from touchline.org import service as org

router = APIRouter(prefix="/api/v1", tags=["scorecards"])


def _lines(lines: list[CardLine]) -> list[CardLineRead]:
    return [
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
        for line in lines
    ]


@router.get("/sellers/{external_id}/scorecard")
def get_scorecard(
    db: Db, actor: SignedIn, external_id: str, period: str | None = None
) -> ScorecardRead:
    """A seller's scorecard for a period (the running quarter by default)."""
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    card = seller_scorecard(db, actor=actor, seller=seller, period=chosen_period(period))
    return ScorecardRead(
        seller=seller.external_id,
        period=card.period.label,
        template=card.template.name if card.template else None,
        lines=_lines(card.lines),
        level_scores=card.level_scores,
        balanced_index=card.balanced_index,
        capacity=card.capacity,
        capacity_weak=card.capacity_weak,
        warnings=card.warnings,
    )


@router.get("/scorecards/{seller_external_id}")
def get_scorecard_by_seller(
    db: Db, actor: SignedIn, seller_external_id: str, period: str | None = None
) -> ScorecardRead:
    """The same card as ``/sellers/{id}/scorecard``, addressed by the seller's external id."""
    return get_scorecard(db, actor, seller_external_id, period)


@router.get("/units/{external_id}/scorecard")
def get_unit_scorecard(
    db: Db, actor: SignedIn, external_id: str, period: str | None = None
) -> ScorecardRead:
    """A unit's scorecard: its own values against its sellers' targets added up."""
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    card = unit_scorecard(db, actor=actor, unit=unit, period=chosen_period(period))
    return ScorecardRead(
        unit=unit.external_id,
        period=card.period.label,
        template=card.template.name if card.template else None,
        lines=_lines(card.lines),
        level_scores=card.level_scores,
        balanced_index=card.balanced_index,
        capacity=card.capacity,
        capacity_weak=card.capacity_weak,
        warnings=card.warnings,
    )


@router.get("/units/{external_id}/kpis")
def get_unit_kpis(
    db: Db, actor: SignedIn, external_id: str, period: str | None = None
) -> UnitKpisRead:
    """Every KPI's value for the unit and the period: stored, or computed afresh (and not
    stored) for a period never computed."""
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    chosen = chosen_period(period)
    computed, kpis, values = stored_or_computed(db, chosen, SubjectKind.UNIT, [unit.id])
    return UnitKpisRead(
        unit=unit.external_id,
        name=unit.name,
        period=chosen.label,
        computed=computed,
        values=[
            UnitKpiValue(
                kpi=kpi.code,
                name=display_name(kpi),
                level=kpi.level,
                unit=kpi.unit,
                value=values.get((unit.id, kpi.id)),
            )
            for kpi in kpis
        ],
    )


@router.get("/units/{external_id}/heatmap")
def get_heatmap(
    db: Db,
    actor: SignedIn,
    external_id: str,
    period: str | None = None,
    sort: str = "name",
    desc: bool = False,
    view: str = "raw",
) -> HeatmapRead:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    found = unit_heatmap(
        db,
        actor=actor,
        unit=unit,
        period=chosen_period(period),
        sort=sort,
        descending=desc,
        view=view,
    )
    fair = {
        (card.seller.id, kpi.code): cell
        for card in found.cards
        for kpi in found.columns
        if (cell := found.fair_cell(card, kpi)) is not None
    }
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
                fair_ratio={
                    k.code: fair[(card.seller.id, k.code)][0]
                    for k in found.columns
                    if (card.seller.id, k.code) in fair
                },
                fair_light={
                    k.code: fair[(card.seller.id, k.code)][1]
                    for k in found.columns
                    if (card.seller.id, k.code) in fair
                },
            )
            for card in found.cards
        ],
    )


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
            without_objective=check.without_objective,
            without_rule=check.without_rule,
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
def set_seller_line(
    db: Db, actor: SignedIn, external_id: str, kpi: str, line_in: SellerLineIn
) -> SellerLineIn:
    """Set a seller's own line for a KPI from a period on (the running quarter by default)."""
    seller = org.get_seller(db, actor=actor, external_id=external_id)
    fields = line_in.model_dump(exclude={"effective_from"}) | {"kpi": kpi}
    spec = assignments.LineSpec(**fields)
    line = assignments.set_seller_line(
        db, actor=actor, seller=seller, spec=spec, effective_from=line_in.effective_from
    )
    return SellerLineIn(**spec.__dict__, effective_from=line.effective_from.isoformat())


@router.post("/units/{external_id}/targets")
def set_unit_targets(
    db: Db, actor: ManagerUp, external_id: str, target_in: UnitTargetIn
) -> dict[str, int]:
    unit = org.get_unit(db, actor=actor, external_id=external_id)
    count = assignments.set_unit_targets(
        db,
        actor=actor,
        unit=unit,
        kpi_code=target_in.kpi,
        target=target_in.target,
        effective_from=target_in.effective_from,
    )
    return {"sellers": count}
