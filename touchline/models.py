"""Every table of Touchline, imported so that the metadata (and Alembic) sees them all."""

from touchline.audit.models import AuditEntry
from touchline.auth.models import ApiToken, LoginAttempt, User
from touchline.db import Base
from touchline.instance import InstanceSetting
from touchline.org.models import Seller, Territory, Unit

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "InstanceSetting",
    "LoginAttempt",
    "Seller",
    "Territory",
    "Unit",
    "User",
]
