from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from interdict.core.fields import Keep, Line, OptText, Text
from interdict.core.filters import FilterNode
from interdict.core.schemas import Input

Urgency = Literal["routine", "urgent", "immediate"]
Scope = Literal["user", "unit"]
EntryKind = Literal[
    "company",
    "person",
    "phone",
    "email",
    "tax_id",
    "id_document",
    "address",
    "container",
    "vessel",
    "bill_of_lading",
    "vehicle",
    "parcel",
]


class RuleCreate(Input):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(min_length=1, max_length=120)
    scope: Scope = "user"
    filter: FilterNode
    urgency: Urgency = "routine"
    active: bool = True


class RuleUpdate(Input):
    """Fields left out are unchanged; none of them may be null."""

    model_config = ConfigDict(extra="forbid")
    name: Keep[Line] = Field(default=None, min_length=1, max_length=120)
    filter: Keep[FilterNode] = None
    urgency: Keep[Urgency] = None
    active: Keep[bool] = None


class RuleRead(BaseModel):
    id: uuid.UUID
    name: str
    scope: Scope
    owner: str
    unit: str
    filter: dict[str, Any]
    urgency: Urgency
    active: bool
    created_at: datetime
    updated_at: datetime
    fired: int
    editable: bool


class WatchListCreate(Input):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(min_length=1, max_length=120)
    description: OptText = Field(default=None, max_length=2000)
    urgency: Urgency = "urgent"


class EntryCreate(Input):
    model_config = ConfigDict(extra="forbid")
    kind: EntryKind
    value: Line = Field(min_length=1, max_length=300)
    reason: Text = Field(min_length=1, max_length=2000)
    expires_on: date | None = None


class EntryRead(BaseModel):
    id: uuid.UUID
    kind: EntryKind
    value: str
    key: str
    reason: str
    expires_on: date | None
    expired: bool
    added_by: str
    created_at: datetime


class HitRead(BaseModel):
    entry_id: uuid.UUID
    entry_value: str
    incident_id: uuid.UUID
    incident_reference: str
    role: str
    matched: str
    score: float
    hit_at: datetime
    nominal: bool = Field(
        default=False,
        description="Matched a natural person's data in the incident (nominal data; reading it is audited).",
    )


class WatchListRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    urgency: Urgency
    unit: str
    created_at: datetime
    entries: list[EntryRead]
    hits: list[HitRead]
    editable: bool


def _(message: str) -> str:
    """Marks a message for extraction; the web layer translates it where it is shown."""
    return message


ENTRY_KIND_LABELS: dict[str, str] = {
    "company": _("Company"),
    "person": _("Person"),
    "phone": _("Phone"),
    "email": _("E-mail"),
    "tax_id": _("Tax id"),
    "id_document": _("Identity document"),
    "address": _("Address"),
    "container": _("Container"),
    "vessel": _("Vessel (IMO number)"),
    "bill_of_lading": _("Bill of lading / AWB"),
    "vehicle": _("Vehicle plate"),
    "parcel": _("Parcel tracking number"),
}
