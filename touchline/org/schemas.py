"""API shapes of the organisation: units, territories and sellers, by external id."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

ExternalId = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str = ExternalId
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="team", pattern="^(company|region|team|unit)$")
    parent: str | None = Field(default=None, description="External id of the parent unit")
    manager: str | None = Field(default=None, description="External id of the managing seller")


class UnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, pattern="^(company|region|team|unit)$")
    parent: str | None = None
    manager: str | None = None


class UnitRead(BaseModel):
    external_id: str
    name: str
    kind: str
    parent: str | None
    manager: str | None
    sellers: int = Field(description="Active sellers directly in the unit that you may see")


class TerritoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str = ExternalId
    name: str = Field(min_length=1, max_length=200)
    market_potential: Decimal = Field(default=Decimal(0), ge=0, decimal_places=2)
    region: str | None = None


class TerritoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    market_potential: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    region: str | None = None


class TerritoryRead(BaseModel):
    external_id: str
    name: str
    market_potential: Decimal
    region: str | None


class SellerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str = ExternalId
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    unit: str = Field(description="External id of the seller's unit")
    manager: str | None = Field(default=None, description="External id of the manager")
    territory: str | None = Field(default=None, description="External id of the territory")
    hire_date: date | None = None
    active: bool = True


class SellerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    unit: str | None = None
    manager: str | None = None
    territory: str | None = None
    hire_date: date | None = None
    active: bool | None = None


class SellerRead(BaseModel):
    external_id: str
    name: str
    email: str
    unit: str
    unit_name: str
    manager: str | None
    manager_name: str | None
    territory: str | None
    hire_date: date | None
    active: bool
