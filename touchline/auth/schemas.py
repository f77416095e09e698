"""API shapes of users and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UserRead(BaseModel):
    email: str
    name: str
    role: str
    seller: str | None = Field(description="External id of the linked seller")
    language: str | None
    active: bool
    last_login_at: datetime | None


class MeRead(UserRead):
    sees_all: bool = Field(description="True for leaders and admins")
    managed_units: list[str] = Field(description="External ids of the units one manages")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str
    role: str
    name: str = ""
    password: str | None = Field(default=None, min_length=8)
    seller: str | None = None
    language: str | None = Field(default=None, pattern="^(en|da|nb|it)$")


class TokenCreated(BaseModel):
    token: str = Field(description="Shown this once; only its digest is stored")
    prefix: str
