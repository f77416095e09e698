"""JSON routes of the fair comparison and the KPI effectiveness, filtered by the viewer's
reach as their pages are (touchline/analytics/fair_service.py)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from touchline.analytics.fair_service import effectiveness_view, fair_view
from touchline.analytics.fairness import MAIN_RESULT
from touchline.deps import Db, ManagerUp, SignedIn
from touchline.errors import NotFound
from touchline.i18n import gettext as _
from touchline.kpis.service import chosen_period
from touchline.org.periods import Period

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


class CoefficientRead(BaseModel):
    term: str
    estimate: float
    low: float | None
    high: float | None
    p_value: float | None


class FairSellerRead(BaseModel):
    seller: str
    name: str
    unit: str
    actual: float | None
    expected: float | None
    ratio: float | None
    raw_rank: int | None
    fair_rank: int | None


class FairUnitRead(BaseModel):
    unit: str
    name: str
    sellers: int
    actual_mean: float
    expected_mean: float
    raw_ratio: float
    fair_ratio: float
    weight: float
    raw_rank: int
    fair_rank: int


class FairRead(BaseModel):
    period: str
    kpi: str
    view: str
    family: str
    measure: str
    r2: float | None
    sellers_fitted: int
    sellers_needed: int
    message: str | None
    coefficients: list[CoefficientRead]
    sellers: list[FairSellerRead]
    units: list[FairUnitRead]


def _not_computed(period: Period, what: str) -> NotFound:
    return NotFound(
        _(
            "%(what)s of %(period)s is not computed yet: run touchline analytics run "
            "--period %(period)s.",
            what=what,
            period=period.label,
        ),
        field="period",
    )


@router.get("/fair")
def get_fair(
    db: Db,
    actor: SignedIn,
    period: str | None = None,
    kpi: str = MAIN_RESULT,
    view: str = "fair",
) -> FairRead:
    """The fair comparison of a result KPI: the model, and the sellers and units the
    viewer may see (a seller: only themself, no units)."""
    chosen = chosen_period(period)
    found = fair_view(db, actor=actor, period=chosen, code=kpi, view=view)
    if not found.computed:
        raise _not_computed(chosen, _("The fair comparison"))
    model = found.model
    return FairRead(
        period=chosen.label,
        kpi=found.code,
        view=found.view,
        family=model["family"],
        measure=model["measure"],
        r2=model["r2"],
        sellers_fitted=model["sellers"],
        sellers_needed=model["needed"],
        message=found.message,
        coefficients=[CoefficientRead(**c) for c in found.coefficients],
        sellers=[
            FairSellerRead(
                seller=r.external_id,
                name=r.name,
                unit=r.unit,
                actual=r.actual,
                expected=r.expected,
                ratio=r.ratio,
                raw_rank=r.raw_rank,
                fair_rank=r.fair_rank,
            )
            for r in found.sellers
        ],
        units=[
            FairUnitRead(
                unit=u.external_id,
                name=u.name,
                sellers=u.sellers,
                actual_mean=u.actual_mean,
                expected_mean=u.expected_mean,
                raw_ratio=u.raw_ratio,
                fair_ratio=u.fair_ratio,
                weight=u.weight,
                raw_rank=u.raw_rank,
                fair_rank=u.fair_rank,
            )
            for u in found.units
        ],
    )


class PairRead(BaseModel):
    period: str
    next_period: str
    rho: float
    sellers: int


class EffectivenessKpiRead(BaseModel):
    kpi: str
    name: str
    level: str
    rho: float | None
    low: float | None
    high: float | None
    p_value: float | None
    sellers: int
    verdict: str
    against_direction: bool
    pairs: list[PairRead]


class EffectivenessRead(BaseModel):
    period: str
    outcome: str
    threshold: float
    periods: list[str]
    kpis: list[EffectivenessKpiRead]


@router.get("/effectiveness")
def get_effectiveness(db: Db, actor: ManagerUp, period: str | None = None) -> EffectivenessRead:
    """Each KPI's rank correlation with the next period's fair result and its verdict
    (``only_statistics``, ``related``, ``result`` for a result KPI, ``too_little_data``);
    managers and leaders."""
    chosen = chosen_period(period)
    found = effectiveness_view(db, actor=actor, period=chosen)
    if not found.computed:
        raise _not_computed(chosen, _("The KPI effectiveness"))
    return EffectivenessRead(
        period=chosen.label,
        outcome=found.outcome,
        threshold=found.threshold,
        periods=found.periods,
        kpis=[
            EffectivenessKpiRead(
                kpi=k["code"],
                name=found.names.get(k["code"], k["name"]),
                level=k["level"],
                rho=k["rho"],
                low=k["low"],
                high=k["high"],
                p_value=k["p_value"],
                sellers=k["sellers"],
                verdict=k["verdict"],
                against_direction=k["against_direction"],
                pairs=[PairRead(**p) for p in k["pairs"]],
            )
            for k in found.kpis
        ],
    )
