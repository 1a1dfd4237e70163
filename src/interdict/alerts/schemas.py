"""Pydantic shapes of rapid alerts: what the API and the form accept, and what readers are shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from interdict.core.fields import Line, OptLine, OptText, Text
from interdict.core.i18n import N_
from interdict.core.schemas import Input
from interdict.incidents.schemas import Country, Locode, OrgRef, SharingGroupRef, SubstanceRef, UserRef
from interdict.incidents.vocab import Distribution, Tlp
from interdict.reference.validators import normalise_container, normalise_imo

Urgency = Literal["routine", "urgent", "immediate"]
Closing = Literal["closed", "cancelled"]


def _blank(v: Any) -> Any:
    if isinstance(v, str):
        v = " ".join(v.split())
        return v or None
    return v


Container = Annotated[str, BeforeValidator(normalise_container)]
Imo = Annotated[str | None, BeforeValidator(lambda v: None if _blank(v) is None else normalise_imo(v))]
Name = Annotated[Line, Field(min_length=1, max_length=300)]
Code = Annotated[Line, Field(min_length=1, max_length=60)]


class Strict(Input):
    model_config = ConfigDict(extra="forbid", str_max_length=20000)


class PersonIn(Strict):
    """A natural person to look for (nominal data: shown only to readers who may see persons)."""

    name: Name
    nationality: Country = None
    id_document: OptLine = Field(default=None, max_length=60)


class RoutePoint(Strict):
    """A country, or a UN/LOCODE (its country is taken from the code)."""

    country: Country = None
    locode: Locode = None

    @model_validator(mode="after")
    def _consistent(self) -> RoutePoint:
        if self.locode and self.country and self.locode[:2] != self.country:
            raise PydanticCustomError(
                "route",
                N_(
                    "UN/LOCODE %(locode)s is in %(value)s, not in %(country)s",
                    locode=self.locode,
                    value=self.locode[:2],
                    country=self.country,
                ),
            )
        if self.locode and not self.country:
            self.country = self.locode[:2]
        if not self.country:
            raise PydanticCustomError("route", N_("give a country or a UN/LOCODE"))
        return self


class AlertCreate(Strict):
    subject: Line = Field(min_length=3, max_length=200)
    urgency: Urgency = "routine"
    body: OptText = Field(default=None, max_length=20000)
    vessel_name: OptLine = Field(default=None, max_length=120)
    vessel_imo: Imo = None
    voyage: OptLine = Field(default=None, max_length=40)
    bl_awb: OptLine = Field(default=None, max_length=60, description="Bill of lading or air waybill number.")
    expected_arrival: datetime | None = Field(default=None, description="UTC when no offset is given.")
    containers: list[Container] = Field(default_factory=list, max_length=200, description="ISO 6346 numbers.")
    companies: list[Name] = Field(default_factory=list, max_length=100)
    persons: list[PersonIn] = Field(default_factory=list, max_length=100)
    route: list[RoutePoint] = Field(default_factory=list, max_length=20, description="Countries / UN/LOCODEs in order.")
    substances: list[Code] = Field(
        default_factory=list, max_length=50, description="Catalogue id, CAS RN or an exact name per substance."
    )
    incidents: list[Code] = Field(
        default_factory=list, max_length=50, description="References (or ids) of incidents you can read."
    )
    addressees: list[Code] = Field(default_factory=list, max_length=200, description="Organisation (unit) codes.")
    groups: list[Code] = Field(
        default_factory=list,
        max_length=20,
        description="Sharing group codes: each is addressed as its member organisations at the time of issue.",
    )
    distribution: Distribution = Field(
        default="unit", description="Who else reads the alert besides its addressees (addressing is sharing)."
    )
    sharing_group: OptLine = Field(default=None, max_length=40)
    tlp: Tlp = "AMBER"
    share_nominal: bool = Field(
        default=False, description="Whether readers outside your organisation see the persons to look for."
    )

    @field_validator("expected_arrival")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


class ResponseCreate(Strict):
    text: Text = Field(min_length=1, max_length=5000)


class CloseRequest(Strict):
    status: Closing = "closed"
    note: OptText = Field(default=None, max_length=2000)


# --- read side ---------------------------------------------------------------------------------


class PersonRead(BaseModel):
    name: str
    nationality: str | None
    id_document: str | None


class RoutePointRead(BaseModel):
    country: str
    locode: str | None


class AddresseeRead(BaseModel):
    org: OrgRef | None = Field(description="None for the members of a group that hides them (see ``members_hidden``).")
    label: str
    source: str
    group: str | None = None
    members_hidden: bool = Field(
        default=False,
        description="One row standing for every member of a group that hides its members from you: the times are "
        "the first member's (read, acknowledged, responded: by at least one member); who and how many are not shown.",
    )
    delivered_at: datetime | None
    first_read_at: datetime | None
    first_read_by: UserRef | None
    acknowledged_at: datetime | None
    acknowledged_by: UserRef | None
    responded_at: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None
    overdue: bool


class ResponseRead(BaseModel):
    id: uuid.UUID
    org: OrgRef | None = Field(description="None when the unit is a member of a group that hides its members.")
    user: UserRef | None = Field(description="None when the unit is a member of a group that hides its members.")
    label: str = Field(description="The unit as you may know it: 'CODE — Name', or 'a member of GROUP'.")
    group: str | None = Field(default=None, description="The hiding group's code when ``org`` is withheld.")
    text: str
    created_at: datetime
    incident: str | None = Field(default=None, description="Reference of the incident recorded from it (if readable).")


class AlertRead(BaseModel):
    id: uuid.UUID
    reference: str
    status: str
    urgency: str
    subject: str
    body: str | None
    owner_org: OrgRef
    created_by: UserRef
    created_at: datetime
    updated_at: datetime
    version: int
    distribution: str
    sharing_group: SharingGroupRef | None = None
    tlp: str
    share_nominal: bool
    vessel_name: str | None
    vessel_imo: str | None
    voyage: str | None
    bl_awb: str | None
    expected_arrival: datetime | None
    containers: list[str]
    companies: list[str]
    persons: list[PersonRead]
    persons_withheld: int = Field(description="Persons not shown: the alert reaches you without nominal data.")
    route: list[RoutePointRead]
    substances: list[SubstanceRef]
    incidents: list[str] = Field(description="References of the linked incidents you can read.")
    closed_at: datetime | None
    closed_by: UserRef | None
    close_note: str | None
    my_unit: AddresseeRead | None = Field(description="Your unit's acknowledgement, if it is an addressee.")
    tracking: list[AddresseeRead] | None = Field(description="Every addressee's progress: for the issuing unit only.")
    responses: list[ResponseRead]
    can_acknowledge: bool
    can_respond: bool
    can_close: bool


class AlertSummary(BaseModel):
    id: uuid.UUID
    reference: str
    status: str
    urgency: str
    subject: str
    owner_org_code: str
    created_at: datetime
    expected_arrival: datetime | None
    tlp: str
    addressed_to_my_unit: bool
    acknowledged_by_my_unit: bool | None
