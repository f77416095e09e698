"""API shapes of the soft KPIs: scales, rounds, campaigns, answers, pulse and perception."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class AnchorRead(BaseModel):
    point: float
    text: str


class RatedKpiRead(BaseModel):
    kpi: str
    name: str
    scale: str
    minimum: float
    maximum: float
    step: float
    anchors: list[AnchorRead]


class ScaleRead(BaseModel):
    code: str
    name: str
    minimum: float
    maximum: float
    step: float


class ScalesRead(BaseModel):
    scales: list[ScaleRead]
    kpis: list[RatedKpiRead]


class KpiScaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scale: str
    # The anchor text per point, e.g. {"1": "...", "3": "...", "5": "..."}.
    anchors: dict[float, str]
    # The same per language: {"da": {"1": "..."}}.
    translations: dict[str, dict[float, str]] = {}


class RoundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    period: str
    unit: str
    kpis: list[str]
    due_date: date | None = None


class RoundSellerRead(BaseModel):
    seller: str
    name: str
    self_submitted: bool
    manager_submitted: bool
    revealed: bool
    # Present only once the viewer may see them: their own side, or both once revealed.
    self_scores: dict[str, float] | None = None
    manager_scores: dict[str, float] | None = None
    gaps: dict[str, float] = {}


class RoundRead(BaseModel):
    id: int
    name: str
    period: str
    unit: str
    status: str
    due_date: date | None
    kpis: list[RatedKpiRead]
    sellers: list[RoundSellerRead]


class RoundRatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seller: str
    scores: dict[str, float | None]
    comments: dict[str, str] = {}


class PulseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    motivation: int | None = None
    energy: int | None = None
    pride: int | None = None
    comment: str = Field(default="", max_length=5000)


class PulseRead(BaseModel):
    week: str
    motivation: int
    energy: int
    pride: int
    comment: str | None


class EnergyRead(BaseModel):
    unit: str
    weeks: list[str]
    energy: list[float | None]
    answers: list[int]
    activities: list[int]
    slope: float | None
    slope_low: float | None
    slope_high: float | None
    falling: bool
    activity_targets: list[tuple[str, float]]
    targets_rising: bool


class GapRead(BaseModel):
    kpi: str
    name: str
    self: float | None
    manager: float | None
    peer: float | None
    customer: float | None
    mystery_shopper: float | None
    peer_answers: int
    customer_answers: int


class PerceptionRead(BaseModel):
    seller: str
    period: str
    gaps: list[GapRead]
    self_above_others: float | None
    predicted_customer_score: float | None
    actual_customer_score: float | None
    paired_answers: int
    customer_answers: int


class LeniencyRead(BaseModel):
    rater: str
    name: str
    role: str
    ratings: int
    sellers: int
    mean: float
    company_mean: float
    difference: float


class AgreementRead(BaseModel):
    kpi: str
    name: str
    icc: float | None
    reading: str
    sellers: int
    ratings: int


class CalibrationRead(BaseModel):
    period: str
    raters: list[LeniencyRead]
    agreement: list[AgreementRead]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: str
    period: str
    unit: str
    kpis: list[str] = []
    customer_status: str | None = None
    ask_score: bool = True
    message: str = Field(default="", max_length=2000)
    days: int | None = Field(default=None, ge=1, le=365)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seller: str
    contact_name: str
    email: str
    account: str = ""
    language: str = ""


class ContactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contacts: list[ContactIn]
    send: bool = False


class LinkRead(BaseModel):
    invitation: int
    seller: str
    contact_name: str
    email: str
    url: str


class LinksRead(BaseModel):
    """Links are shown once: keep them, or send them; asking again makes new ones."""

    links: list[LinkRead]
    skipped: list[tuple[int, str]] = []
    sent: int = 0
    failed: list[tuple[str, str]] = []


class TrackingRead(BaseModel):
    seller: str
    name: str
    invited: int
    sent: int
    answered: int


class CampaignRead(BaseModel):
    id: int
    name: str
    kind: str
    period: str
    unit: str
    status: str
    customer_status: str | None
    kpis: list[str]
    ask_score: bool
    expires_at: datetime
    invited: int
    sent: int
    answered: int
    sellers: list[TrackingRead]


class SurveyRead(BaseModel):
    """What a rater is asked, without anything about anyone else's answers."""

    kind: str
    seller: str
    ask_score: bool
    message: str
    language: str
    expires_at: datetime
    questions: list[RatedKpiRead]


class SurveyAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int | None = None
    ratings: dict[str, float | None] = {}
    comment: str = Field(default="", max_length=5000)


class PredictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    predicted: int | None


class SellerSurveyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    period: str
    unit: str
    kpis: list[str] = []


class SellerSurveyRead(BaseModel):
    id: int
    name: str
    period: str
    unit: str
    status: str
    questions: list[RatedKpiRead]


class SellerSurveyAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: dict[str, float | None]


class SellerSurveyResultsRead(BaseModel):
    id: int
    asked: int
    answered: int
    means: dict[str, float | None]
