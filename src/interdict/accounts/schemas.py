from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from interdict.core.fields import Line, OptLine, Verbatim
from interdict.core.i18n import N_
from interdict.core.localtime import check_zone
from interdict.core.schemas import Input
from interdict.reference.validators import normalise_country

OrgKind = Literal["agency", "department", "provincial_unit", "pcu", "border_gate", "partner", "other"]
Role = Literal["admin", "analyst", "officer", "viewer", "auditor"]
Scope = Literal["read", "write", "admin"]

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

_ZONE_HELP = "An IANA time zone name, e.g. Asia/Ho_Chi_Minh"


def _zone_or_none(v: str | None) -> str | None:
    return check_zone(v) if v is not None and v.strip() else None


class OrganisationCreate(Input):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: Line = Field(min_length=2, max_length=200)
    name_local: OptLine = Field(default=None, max_length=200)
    kind: OrgKind
    country: Line
    parent_code: OptLine = Field(default=None, max_length=32)
    contact_email: OptLine = Field(default=None, max_length=200)
    time_zone: OptLine = Field(
        default=None,
        max_length=64,
        description=f"{_ZONE_HELP}; the zone in which its users see times. Default: the country's "
        "(Asia/Ho_Chi_Minh for Viet Nam, UTC where a country has several).",
    )

    _country = field_validator("country")(normalise_country)
    _zone = field_validator("time_zone")(_zone_or_none)


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    code: str
    name: str
    name_local: str | None
    kind: str
    country: str
    parent_id: uuid.UUID | None
    head_user_id: uuid.UUID | None = None
    time_zone: str = "UTC"


class OrganisationChange(Input):
    model_config = ConfigDict(extra="forbid")
    head_username: OptLine = Field(
        default=None,
        max_length=64,
        description="The unit's head, a user of the unit (urgent alerts it leaves unacknowledged escalate to them); "
        "null: no head. Left as it is when absent.",
    )
    time_zone: OptLine = Field(
        default=None,
        max_length=64,
        description=f"{_ZONE_HELP}; the zone in which the unit's users see times; null: the country's. "
        "Left as it is when absent.",
    )

    _zone = field_validator("time_zone")(_zone_or_none)


class UserCreate(Input):
    model_config = ConfigDict(extra="forbid")
    raw_fields = frozenset({"password"})  # compared as typed at login
    username: Line = Field(max_length=64)
    full_name: Line = Field(min_length=1, max_length=200)
    email: OptLine = Field(default=None, max_length=200)
    role: Role
    org_code: Line = Field(max_length=32)
    password: Verbatim = Field(min_length=1, max_length=256)
    locale: Literal["en", "vi"] = "en"

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        v = v.strip().lower()
        if not _USERNAME_RE.match(v):
            raise ValueError(N_("2-64 characters: lower-case letters, digits, '.', '_' or '-'"))
        return v


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    username: str
    full_name: str
    email: str | None
    role: str
    org_id: uuid.UUID
    is_active: bool
    locale: str
    last_login_at: datetime | None = Field(default=None, description="The last successful sign-in (UTC).")
    must_change_password: bool = Field(
        default=False, description="An administrator set the password: the user must change it at the next login."
    )
    two_factor: bool = Field(default=False, description="Two-factor authentication is turned on.")


class UserUpdate(Input):
    """An administrator's change to a user: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")
    full_name: Line | None = Field(default=None, min_length=1, max_length=200)
    email: OptLine = Field(default=None, max_length=200, description="An empty string removes the address.")
    org_code: Line | None = Field(default=None, max_length=32, description="The user's unit (of your agency).")
    locale: Literal["en", "vi"] | None = None
    role: Role | None = None


class PasswordReset(Input):
    model_config = ConfigDict(extra="forbid")
    raw_fields = frozenset({"password"})
    password: Verbatim | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The temporary password to set; omitted: one is generated and returned once.",
    )


class PasswordResetDone(BaseModel):
    user: UserRead
    temporary_password: str | None = Field(
        description="The generated temporary password (null when you chose it). Shown only in this response; the "
        "user must change it at their next login."
    )


class TokenCreate(Input):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(default=["read"])
    expires_in_days: int = Field(default=90, ge=1, le=365, description="Tokens always expire, after a year at most.")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    display_prefix: str
    scopes: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret token. Shown only once; store it now.")


class Me(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str
    role: str
    org_code: str
    org_name: str
    country: str
    locale: str
    time_zone: str = Field(description="The zone in which you see times: your own choice, else your organisation's.")
    own_time_zone: str | None = Field(default=None, description="Your own choice of zone; null: your organisation's.")


class MeChange(Input):
    model_config = ConfigDict(extra="forbid")
    time_zone: OptLine = Field(
        default=None, max_length=64, description=f"{_ZONE_HELP}; null: your organisation's zone."
    )

    _zone = field_validator("time_zone")(_zone_or_none)
