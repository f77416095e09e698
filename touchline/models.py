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
from touchline.org.models import Seller, Territory, Unit

__all__ = [
    "Account",
    "Activity",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CustomerSurveyResponse",
    "Deal",
    "DealStageChange",
    "ImportRun",
    "InstanceSetting",
    "LoginAttempt",
    "PulseAnswer",
    "RatingRecord",
    "Seller",
    "Territory",
    "Unit",
    "User",
]
