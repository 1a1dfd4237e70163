from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from interdict.core.fields import Line, OptLine, OptText
from interdict.core.schemas import Input
from interdict.incidents.vocab import Distribution, Tlp


class SharingGroupCreate(Input):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: Line = Field(min_length=2, max_length=200)
    description: OptText = Field(default=None, max_length=2000)
    hide_members: bool = False
    members: list[Line] = Field(default_factory=list, max_length=500, description="Organisation codes.")


class SharingGroupMembers(Input):
    model_config = ConfigDict(extra="forbid")
    members: list[Line] = Field(max_length=500, description="Organisation codes (the owner stays a member).")


class MemberRead(BaseModel):
    code: str
    name: str
    country: str
    name_local: str | None = None


class SharingGroupRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    description: str | None
    owner_org_code: str
    hide_members: bool
    created_at: datetime
    can_manage: bool
    members: list[MemberRead] | None = Field(
        description="None when the owner hides the member list from members outside its organisation."
    )


class SharingChange(Input):
    """Widen or narrow who reads a record. Takes effect at once everywhere (search, lists, links)."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(description="The version you changed; a newer one on the server gives 409 Conflict.")
    distribution: Distribution
    sharing_group: OptLine = Field(
        default=None, max_length=40, description="Group code; required with distribution 'group'."
    )
    tlp: Tlp
    share_nominal: bool = Field(description="Whether readers outside your organisation see the person data.")
