"""Every table of Touchline, imported so that the metadata (and Alembic) sees them all."""

from touchline.analytics.models import AnalyticsResult
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
    "ActionItem",
    "Activity",
    "Addendum",
    "AgendaItem",
    "AnalyticsResult",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CoachingCadence",
    "CoachingNote",
    "ComputedPeriod",
    "Conversation",
    "CustomerSurveyResponse",
    "Deal",
    "DealStageChange",
    "Impediment",
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
    "SellerTopic",
    "SurveyCampaign",
    "SurveyInvitation",
    "Territory",
    "Unit",
    "User",
]

# The coaching KPIs' provider registers itself on import, and so does the hook that runs
# the analyses of the periods an import reached again (after the KPIs' refresh); every
# entry point loads this module, so every computation and import finds them.
import touchline.analytics.refreshing
import touchline.coaching.kpis  # noqa: F401
