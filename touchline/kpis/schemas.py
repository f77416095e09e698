"""API shapes of the KPI catalogue."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

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
    # The name and description in Danish, Norwegian and Italian ({"da": {...}}); the
    # English ones above are shown where a language has none.
    translations: dict[str, KpiText] = {}


class KpiUpdate(BaseModel):
    """Descriptive fields change in place; ``definition`` makes a new version."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    level: Level | None = None
    direction: Direction | None = None
    unit: Unit | None = None
    decimals: int | None = Field(default=None, ge=0, le=6)
    objective_id: int | None = None
    status: KpiStatus | None = None
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
    translations: dict[str, KpiText] = {}
    versions: list[KpiVersionRead] = []
