"""Settings, read from environment variables named ``TOUCHLINE_*``.

Every setting is documented in docs/configuration.md; a test fails when one is missing there.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///touchline.db"
LANGUAGES: dict[str, str] = {"en": "English", "da": "Dansk", "nb": "Norsk bokmål", "it": "Italiano"}
Language = Literal["en", "da", "nb", "it"]


class Settings(BaseSettings):
    """Touchline's configuration; each field is read from ``TOUCHLINE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="TOUCHLINE_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session cookies; generated and stored in the database when not given",
    )
    default_language: Language = Field(default="en", description="en, da, nb or it")
    fiscal_year_start_month: int = Field(
        default=1, ge=1, le=12, description="Month (1-12) in which the fiscal year starts"
    )
    timezone: str = Field(default="UTC", description="The company's time zone (IANA name)")
    session_max_age_hours: int = Field(
        default=12, ge=1, description="A login lasts this long without activity"
    )
    secure_cookies: bool = Field(
        default=False, description="Send cookies over HTTPS only (turn on behind TLS)"
    )
    login_attempts_per_minute: int = Field(
        default=5, ge=1, description="Failed logins per account and address before a pause"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    max_card_kpis: int = Field(
        default=7, ge=1, description="Active KPIs on one scorecard before governance warns"
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Touchline's public address, for the survey links sent to outside raters",
    )
    survey_days: int = Field(default=30, ge=1, le=365, description="Days a survey link stays valid")
    smtp_host: str | None = Field(
        default=None, description="SMTP server for survey e-mails; links to copy without it"
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    smtp_username: str | None = Field(default=None, description="SMTP user name, if any")
    smtp_password: str | None = Field(default=None, description="SMTP password, if any")
    smtp_from: str = Field(
        default="touchline@localhost", description="The sender of survey e-mails"
    )
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection to TLS")
    analytics_top_share: float = Field(
        default=0.25, gt=0, lt=1, description="Share of field sellers counted as top performers"
    )
    analytics_group_training_min: int = Field(
        default=3, ge=2, description="Sellers of a unit sharing a gap that make a group training"
    )
    analytics_factors: str = Field(
        default="potential,accounts,tenure",
        description="Factors outside a seller's control in the fairness model, comma-separated",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}: use an IANA name") from error
        return value

    @field_validator("analytics_factors")
    @classmethod
    def _known_factors(cls, value: str) -> str:
        chosen = [item.strip() for item in value.split(",") if item.strip()]
        unknown = sorted(set(chosen) - {"potential", "accounts", "tenure"})
        if not chosen or unknown:
            raise ValueError(
                f"unknown analytics factors {unknown or value!r}: use potential, accounts, tenure"
            )
        return ",".join(dict.fromkeys(chosen))

    @property
    def is_default_sqlite(self) -> bool:
        """True when the database is the embedded SQLite default in the working directory."""
        return self.database_url == DEFAULT_DATABASE_URL


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
