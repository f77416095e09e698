"""Every table of Touchline, imported so that the metadata (and Alembic) sees them all."""

from touchline.audit.models import AuditEntry
from touchline.auth.models import ApiToken, LoginAttempt, User
from touchline.crm.models import (
    Account,
    Activity,
    CustomerSurveyResponse,
    Deal,
    DealStageChange,
    ImportRun,
    PulseAnswer,
    RatingRecord,
)
from touchline.db import Base
from touchline.instance import InstanceSetting
from touchline.kpis.models import (
    ComputedPeriod,
    Kpi,
    KpiValue,
    KpiVersion,
    ManualEntry,
    Objective,
    ScorecardAssignment,
    ScorecardLine,
    ScorecardTemplate,
)
from touchline.org.models import Seller, Territory, Unit
from touchline.ratings import kpis as _ratings_kpis  # noqa: F401 (registers its KPIs)
from touchline.ratings.models import (
    KpiScale,
    RatingRound,
    RatingScale,
    RoundSeller,
    ScaleAnchor,
    SellerSurvey,
    SellerSurveyAnswer,
    SurveyCampaign,
    SurveyInvitation,
)

__all__ = [
    "Account",
    "Activity",
    "ApiToken",
    "AuditEntry",
    "Base",
    "ComputedPeriod",
    "CustomerSurveyResponse",
    "Deal",
    "DealStageChange",
    "ImportRun",
    "InstanceSetting",
    "Kpi",
    "KpiScale",
    "KpiValue",
    "KpiVersion",
    "LoginAttempt",
    "ManualEntry",
    "Objective",
    "PulseAnswer",
    "RatingRecord",
    "RatingRound",
    "RatingScale",
    "RoundSeller",
    "ScaleAnchor",
    "ScorecardAssignment",
    "ScorecardLine",
    "ScorecardTemplate",
    "Seller",
    "SellerSurvey",
    "SellerSurveyAnswer",
    "SurveyCampaign",
    "SurveyInvitation",
    "Territory",
    "Unit",
    "User",
]
