"""Every table of Touchline, imported so that the metadata (and Alembic) sees them all."""

from touchline.audit.models import AuditEntry
from touchline.auth.models import ApiToken, LoginAttempt, User
from touchline.coaching.models import (
    ActionItem,
    Addendum,
    AgendaItem,
    CoachingCadence,
    CoachingNote,
    Conversation,
    Impediment,
    SellerTopic,
)
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

__all__ = [
    "ActionItem",
    "Addendum",
    "AgendaItem",
    "CoachingCadence",
    "CoachingNote",
    "Conversation",
    "Impediment",
    "SellerTopic",
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
    "KpiValue",
    "KpiVersion",
    "LoginAttempt",
    "ManualEntry",
    "Objective",
    "PulseAnswer",
    "RatingRecord",
    "ScorecardAssignment",
    "ScorecardLine",
    "ScorecardTemplate",
    "Seller",
    "Territory",
    "Unit",
    "User",
]
