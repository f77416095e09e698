"""API shapes of the KPI catalogue."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from touchline.kpis.metrics import Direction, Level, Unit
from touchline.kpis.models import KpiKind, KpiSource, KpiStatus, TimeAggregation

CODE_PATTERN = r"^[a-z][a-z0-9_]{1,59}$"


class KpiDefinition(BaseModel):
    """The versioned part of a KPI: what changes from a period on, never backwards."""

    model_config = ConfigDict(extra="forbid")

    formula: str = Field(default="", max_length=500)
    target: float | None = None
    green_from: float = Field(default=100.0, ge=0, le=1000)
    amber_from: float = Field(default=85.0, ge=0, le=1000)
    decision_threshold: float | None = None
    decision_rule: str = Field(default="", max_length=2000)
    # A rated KPI's weight per rater role, e.g. {"manager": 40, "customer": 40, "self": 20};
    # empty or left out: every role weighs the same.
    rater_weights: dict[str, float] | None = None

    @field_validator("rater_weights")
    @classmethod
    def _no_weights_is_equal_weights(
        cls, value: dict[str, float] | None
    ) -> dict[str, float] | None:
        return value or None


class KpiText(BaseModel):
    """A KPI's name and description in one language."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)


class KpiCreate(KpiDefinition):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    level: Level
    kind: KpiKind = KpiKind.HARD
    source: KpiSource = KpiSource.EXPRESSION
    direction: Direction = Direction.HIGHER
    unit: Unit = Unit.NUMBER
    decimals: int = Field(default=1, ge=0, le=6)
    time_aggregation: TimeAggregation = TimeAggregation.SUM
    objective_id: int | None = None
    status: KpiStatus = KpiStatus.ACTIVE
    # The e-mail of the user who answers for the KPI; the creator when left out.
    owner: str | None = None
    # The name and description in Danish, Norwegian and Italian ({"da": {...}}); the
    # English ones above are shown where a language has none.
    translations: dict[str, KpiText] = {}


class KpiUpdate(BaseModel):
    """Descriptive fields change in place; ``definition`` makes a new version."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    level: Level | None = None
    kind: KpiKind | None = None
    direction: Direction | None = None
    unit: Unit | None = None
    decimals: int | None = Field(default=None, ge=0, le=6)
    time_aggregation: TimeAggregation | None = None
    objective_id: int | None = None
    status: KpiStatus | None = None
    # The e-mail of the user who answers for the KPI.
    owner: str | None = None
    translations: dict[str, KpiText] | None = None
    definition: KpiDefinition | None = None
    # The first period the new definition applies to, e.g. 2026-Q3 or 2026-07.
    effective_from: str | None = None


class KpiVersionRead(KpiDefinition):
    model_config = ConfigDict(from_attributes=True)

    effective_from: date
    created_by: str


class KpiRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    description: str
    level: str
    kind: str
    source: str
    direction: str
    unit: str
    decimals: int
    time_aggregation: str
    status: str
    builtin: bool
    objective_id: int | None
    owner: str | None = None
    translations: dict[str, KpiText] = {}
    versions: list[KpiVersionRead] = []


# --- scorecards, templates, targets, heatmaps -------------------------------------------


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
    """A seller's card (``seller`` set) or a unit's (``unit`` set) for a period."""

    seller: str | None = None
    unit: str | None = None
    period: str
    template: str | None
    lines: list[CardLineRead]
    level_scores: dict[str, float | None]
    balanced_index: float | None
    capacity: float | None
    capacity_weak: bool
    warnings: list[str]


class LineIn(BaseModel):
    kpi: str
    weight: float = 0.0
    target: float | None = None
    green_from: float | None = None
    amber_from: float | None = None


class SellerLineIn(LineIn):
    # The first period the line applies to (2026-Q3, 2026-07); the running quarter if empty.
    effective_from: str | None = None


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
    without_objective: list[str]
    without_rule: list[str]


class AssignmentIn(BaseModel):
    unit: str | None = None
    seller: str | None = None


class UnitTargetIn(BaseModel):
    kpi: str
    target: float
    effective_from: str | None = None


class HeatmapRow(BaseModel):
    seller: str
    name: str
    balanced_index: float | None
    attainment: dict[str, float | None]
    light: dict[str, str]
    # With view=fair: the result KPIs' fair ratios (actual / expected) and their lights.
    fair_ratio: dict[str, float] = {}
    fair_light: dict[str, str] = {}


class HeatmapRead(BaseModel):
    unit: str
    period: str
    kpis: list[str]
    rows: list[HeatmapRow]


class UnitKpiValue(BaseModel):
    kpi: str
    name: str
    level: str
    unit: str
    value: float | None


class UnitKpisRead(BaseModel):
    """Every KPI's value for a unit and a period (``None``: no value, e.g. nothing to divide)."""

    unit: str
    name: str
    period: str
    computed: bool
    values: list[UnitKpiValue]
