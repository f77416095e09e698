"""JSON routes of the success behaviours and the training plan, under the visibility
policy as their pages: the behaviours' figures are company-wide group statistics, the
named top performers and the plan only those of the viewer's reach."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from touchline.analytics import behaviour_service, training_service
from touchline.deps import Db, LeaderUp, ManagerUp
from touchline.errors import NotFound
from touchline.i18n import gettext as _
from touchline.kpis.service import chosen_period
from touchline.org.periods import Period

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

Figures = dict[str, float | int | None]


class MeasureRead(BaseModel):
    code: str
    name: str
    kind: str
    unit: str
    direction: str
    kpi: str | None
    formula: str
    status: str
    rank: int | None
    evidence: str
    g: float | None
    q: float | None
    target: float | None
    leading: Figures
    concurrent: Figures


class SellerRef(BaseModel):
    id: str
    name: str


class BehavioursRead(BaseModel):
    period: str
    computed_at: datetime
    fair_result: str
    top_share: float
    sellers: int
    top: int
    rest: int
    too_small: bool
    min_group: int
    fdr_level: float
    min_effect: float
    ranking: str
    previous_period: str | None
    measures: list[MeasureRead]
    top_sellers: list[SellerRef]


def _not_computed(what: str, period: Period) -> NotFound:
    return NotFound(
        _(
            "%(what)s of %(period)s are not computed yet: run the analyses of the period.",
            what=what,
            period=period.label,
        ),
        field="period",
    )


@router.get("/behaviours")
def behaviours(db: Db, actor: ManagerUp, period: str | None = None) -> BehavioursRead:
    """The success behaviours of the period, every measure with its evidence."""
    chosen = chosen_period(period)
    report = behaviour_service.behaviour_report(db, actor=actor, period=chosen)
    if report.payload is None or report.computed_at is None:
        raise _not_computed(_("The success behaviours"), chosen)
    payload = report.payload
    return BehavioursRead(
        period=chosen.label,
        computed_at=report.computed_at,
        **{
            key: payload[key]
            for key in (
                "fair_result",
                "top_share",
                "sellers",
                "top",
                "rest",
                "too_small",
                "min_group",
                "fdr_level",
                "min_effect",
                "ranking",
                "previous_period",
            )
        },
        measures=[MeasureRead(**{**m.row, "name": m.name}) for m in report.measures],
        top_sellers=[SellerRef(id=s.external_id, name=s.name) for s in report.top_sellers],
    )


class ProposalCreate(BaseModel):
    period: str = Field(description="The analysed period whose success behaviour is proposed")
    measure: str
    # The scorecard template to put a KPI on; not needed for a derived ratio.
    template: str | None = None
    weight: float | None = Field(default=None, ge=0)


class ProposalRead(BaseModel):
    action: str
    measure: str
    kpi: str
    template: str | None
    target: float
    message: str


@router.post("/behaviours/proposals", status_code=201)
def propose(db: Db, actor: LeaderUp, proposal: ProposalCreate) -> ProposalRead:
    """Make a success behaviour a behavioural KPI with the top performers' median as target."""
    result = behaviour_service.propose_kpi(
        db,
        actor=actor,
        period=chosen_period(proposal.period),
        measure=proposal.measure,
        template=proposal.template,
        weight=proposal.weight,
    )
    return ProposalRead(**result.__dict__)


class NeedRead(BaseModel):
    seller: str
    name: str
    behaviour: str
    value: float
    target: float
    gap: float
    gap_share: float | None


class GroupRead(BaseModel):
    behaviour: str
    target: float
    participants: list[NeedRead]


class UnitTrainingRead(BaseModel):
    unit: str
    name: str
    groups: list[GroupRead]
    individual: list[NeedRead]


class TrainingRead(BaseModel):
    period: str
    computed_at: datetime
    behaviours: list[str]
    min_gap_share: float
    group_min: int
    units: list[UnitTrainingRead]


def _need(need: training_service.Need) -> NeedRead:
    return NeedRead(
        seller=need.external_id,
        name=need.seller,
        behaviour=need.behaviour.code,
        value=need.value,
        target=need.behaviour.target,
        gap=need.gap,
        gap_share=need.share,
    )


@router.get("/training")
def training(db: Db, actor: ManagerUp, period: str | None = None) -> TrainingRead:
    """The training plan of the period for the units and sellers the viewer may see."""
    chosen = chosen_period(period)
    view = training_service.training_view(db, actor=actor, period=chosen)
    if view.payload is None or view.computed_at is None:
        raise _not_computed(_("The training plan"), chosen)
    return TrainingRead(
        period=chosen.label,
        computed_at=view.computed_at,
        behaviours=[b.code for b in view.behaviours],
        min_gap_share=view.payload["min_gap_share"],
        group_min=view.payload["group_min"],
        units=[
            UnitTrainingRead(
                unit=unit.external_id,
                name=unit.name,
                groups=[
                    GroupRead(
                        behaviour=behaviour.code,
                        target=behaviour.target,
                        participants=[_need(n) for n in needs],
                    )
                    for behaviour, needs in unit.groups
                ],
                individual=[_need(n) for n in unit.individual],
            )
            for unit in view.units
        ],
    )


class PushCreate(BaseModel):
    period: str
    seller: str = Field(description="The seller's external id")
    measure: str


class PushRead(BaseModel):
    seller: str
    text: str
    conversation_id: int | None
    message: str


@router.post("/training/pushes", status_code=201)
def push(db: Db, actor: ManagerUp, item: PushCreate) -> PushRead:
    """Put a seller's individual training item on their next coaching agenda."""
    result = training_service.push_to_coaching(
        db,
        actor=actor,
        period=chosen_period(item.period),
        seller=item.seller,
        measure=item.measure,
    )
    return PushRead(
        seller=item.seller,
        text=result.text,
        conversation_id=result.conversation_id,
        message=result.message,
    )
