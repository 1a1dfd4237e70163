"""Pydantic shapes of the incident record: what the API and forms accept, and what they return."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from interdict.core.errors import custom_error
from interdict.core.fields import Line, OptLine, OptText
from interdict.core.i18n import N_
from interdict.core.schemas import Input
from interdict.incidents.vocab import (
    UNIT_ALIASES,
    UNITS,
    DetectionMethod,
    Distribution,
    Form,
    IncidentType,
    LabConfirmation,
    Mode,
    PartyKind,
    PartyRole,
    PlaceType,
    Tlp,
)
from interdict.reference.validators import (
    normalise_cas,
    normalise_container,
    normalise_country,
    normalise_hs_format,
    normalise_imo,
    normalise_locode,
)

_CAS_LIKE = re.compile(r"^\s*\d{2,7}\s*-\s*\d{2}\s*-\s*\d\s*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _blank_to_none(v: Any) -> Any:
    if isinstance(v, str):
        v = " ".join(v.split()) if "\n" not in v else v.strip()
        return v or None
    return v


def _unit(v: Any) -> Any:
    v = _blank_to_none(v)
    if v is None:
        return None
    canonical = UNIT_ALIASES.get(str(v).strip().lower())
    if canonical is None:
        raise custom_error(
            "unit", N_("unit '%(v)s' is not recognised; use one of %(units)s", v=v, units=", ".join(UNITS))
        )
    return canonical


Country = Annotated[str | None, BeforeValidator(lambda v: None if _blank_to_none(v) is None else normalise_country(v))]
Locode = Annotated[str | None, BeforeValidator(lambda v: None if _blank_to_none(v) is None else normalise_locode(v))]
HsCode = Annotated[
    str | None, BeforeValidator(lambda v: None if _blank_to_none(v) is None else normalise_hs_format(str(v)))
]
UnitField = Annotated[str | None, BeforeValidator(_unit)]


class Strict(Input):
    model_config = ConfigDict(extra="forbid", str_max_length=20000)


class SubstanceLineIn(Strict):
    substance: OptLine = Field(
        default=None,
        max_length=300,
        description="Catalogue id, CAS RN or an exact name/synonym/abbreviation.",
    )
    other_description: OptLine = Field(
        default=None, max_length=300, description="For an unidentified or uncatalogued substance: what it is."
    )
    declared_as: OptLine = Field(default=None, max_length=300)
    quantity: Decimal | None = Field(default=None, gt=0, max_digits=20, decimal_places=6)
    unit: UnitField = None
    purity_percent: Decimal | None = Field(default=None, ge=0, le=100, max_digits=6, decimal_places=3)
    form: Form | None = None
    lab_confirmation: LabConfirmation = "none"

    @field_validator("substance")
    @classmethod
    def _cas_check(cls, v: str | None) -> str | None:
        if v is not None and _CAS_LIKE.match(v):
            return normalise_cas(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SubstanceLineIn:
        if self.substance is None and self.other_description is None:
            raise custom_error("substance", N_("give a substance from the catalogue, or describe an unidentified one"))
        if (self.quantity is None) != (self.unit is None):
            raise custom_error("quantity", N_("quantity and unit go together: give both or neither"))
        return self


class TransitIn(Strict):
    country: Annotated[str, BeforeValidator(normalise_country)]
    locode: Locode = None


class ContainerIn(Strict):
    number: Annotated[str, BeforeValidator(normalise_container)]
    seal_numbers: OptLine = Field(default=None, max_length=200)


class PartyIn(Strict):
    role: PartyRole
    kind: PartyKind = "company"
    name: Line = Field(min_length=1, max_length=300)
    address: OptText = Field(default=None, max_length=500)
    country: Country = None
    tax_id: OptLine = Field(default=None, max_length=60)
    id_document: OptLine = Field(default=None, max_length=60)
    phone: OptLine = Field(default=None, max_length=60)
    email: OptLine = Field(default=None, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL_RE.match(v):
            raise custom_error("email", N_("'%(v)s' is not an e-mail address", v=v))
        return v.lower() if v else v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[+()\d\s./-]{5,60}", v):
            raise custom_error("phone", N_("'%(v)s' is not a phone number: digits, spaces, + ( ) - . / only", v=v))
        return v


class IncidentBase(Strict):
    incident_type: IncidentType
    case_reference: OptLine = Field(default=None, max_length=100)
    incident_date: date
    reported_date: date | None = None

    country: Annotated[str, BeforeValidator(normalise_country)]
    locode: Locode = None
    place_type: PlaceType | None = None
    place_name: OptLine = Field(default=None, max_length=200)
    mode_of_transport: Mode | None = None

    origin_country: Country = None
    departure_country: Country = None
    departure_locode: Locode = None
    transits: list[TransitIn] = Field(default_factory=list, max_length=20)
    destination_country: Country = None
    destination_locode: Locode = None

    containers: list[ContainerIn] = Field(default_factory=list, max_length=500)
    bl_awb: OptLine = Field(default=None, max_length=60)
    vessel_name: OptLine = Field(default=None, max_length=120)
    vessel_imo: Annotated[
        str | None, BeforeValidator(lambda v: None if _blank_to_none(v) is None else normalise_imo(str(v)))
    ] = None
    voyage: OptLine = Field(default=None, max_length=40)
    vehicle_plate: OptLine = Field(default=None, max_length=40)
    parcel_tracking: OptLine = Field(default=None, max_length=60)
    goods_description: OptText = Field(default=None, max_length=2000)
    declared_hs_code: HsCode = None

    substances: list[SubstanceLineIn] = Field(default_factory=list, max_length=100)
    parties: list[PartyIn] = Field(default_factory=list, max_length=100)

    detection_method: DetectionMethod | None = None
    modus: list[Line] = Field(default_factory=list, max_length=30)
    narrative: OptText = Field(default=None, max_length=20000)

    distribution: Distribution = "organisation"
    sharing_group: OptLine = Field(
        default=None, max_length=40, description="Code of a sharing group you belong to; with distribution 'group'."
    )
    tlp: Tlp = "AMBER"
    share_nominal: bool = Field(
        default=False,
        description="Whether readers outside your organisation see the data of natural persons (names, ids, phones).",
    )


class IncidentCreate(IncidentBase):
    submit: bool = Field(default=False, description="Submit at once instead of saving a draft.")
    reference: OptLine = Field(
        default=None,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
        description=(
            "Leave empty: the server assigns references. Only an import of your unit's own historic records keeps "
            "references of your unit's numbering."
        ),
    )


class IncidentPatch(Input):
    """Partial update: only the fields present change; lists present are replaced as a whole."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(description="The version you edited; a newer one on the server gives 409 Conflict.")
    incident_type: IncidentType | None = None
    case_reference: OptLine = None
    incident_date: date | None = None
    reported_date: date | None = None
    country: OptLine = None
    locode: OptLine = None
    place_type: PlaceType | None = None
    place_name: OptLine = None
    mode_of_transport: Mode | None = None
    origin_country: OptLine = None
    departure_country: OptLine = None
    departure_locode: OptLine = None
    transits: list[dict[str, Any]] | None = None
    destination_country: OptLine = None
    destination_locode: OptLine = None
    containers: list[dict[str, Any]] | None = None
    bl_awb: OptLine = None
    vessel_name: OptLine = None
    vessel_imo: OptLine = None
    voyage: OptLine = None
    vehicle_plate: OptLine = None
    parcel_tracking: OptLine = None
    goods_description: OptText = None
    declared_hs_code: OptLine = None
    substances: list[dict[str, Any]] | None = None
    parties: list[dict[str, Any]] | None = None
    detection_method: DetectionMethod | None = None
    modus: list[str] | None = None
    narrative: OptText = None
    distribution: Distribution | None = None
    sharing_group: OptLine = None
    tlp: Tlp | None = None
    share_nominal: bool | None = None


# --- read side ---------------------------------------------------------------------------------


class SubstanceRef(BaseModel):
    id: uuid.UUID
    name: str
    cas: str | None
    controls: list[str]
    classes: list[str]


class SubstanceLineRead(BaseModel):
    substance: SubstanceRef | None
    other_description: str | None
    declared_as: str | None
    quantity: Decimal | None
    unit: str | None
    quantity_normalised: Decimal | None
    unit_normalised: str | None
    purity_percent: Decimal | None
    form: str | None
    lab_confirmation: str | None


class TransitRead(BaseModel):
    country: str
    locode: str | None


class ContainerRead(BaseModel):
    number: str
    seal_numbers: str | None


class PartyRead(BaseModel):
    role: str
    kind: str
    name: str
    address: str | None
    country: str | None
    tax_id: str | None
    id_document: str | None
    phone: str | None
    email: str | None


class SharingGroupRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class OrgRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    name_local: str | None = None  # the name in the organisation's own language (Vietnamese for Vietnam Customs)


class UserRef(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    description: str | None
    created_at: datetime


class Warning_(BaseModel):
    field: str
    msg: str


class IncidentRead(BaseModel):
    id: uuid.UUID
    reference: str
    case_reference: str | None
    incident_type: str
    status: str
    is_demo: bool
    owner_org: OrgRef
    created_by: UserRef
    updated_by: UserRef
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    closed_at: datetime | None
    version: int
    distribution: str
    sharing_group: SharingGroupRef | None = None
    tlp: str
    share_nominal: bool = False
    persons_withheld: int = Field(
        default=0, description="Natural persons not shown: the record is shared with you without nominal data."
    )
    incident_date: date
    reported_date: date
    country: str
    locode: str | None
    place_type: str | None
    place_name: str | None
    mode_of_transport: str | None
    origin_country: str | None
    departure_country: str | None
    departure_locode: str | None
    transits: list[TransitRead]
    destination_country: str | None
    destination_locode: str | None
    containers: list[ContainerRead]
    bl_awb: str | None
    vessel_name: str | None
    vessel_imo: str | None
    voyage: str | None
    vehicle_plate: str | None
    parcel_tracking: str | None
    goods_description: str | None
    declared_hs_code: str | None
    substances: list[SubstanceLineRead]
    parties: list[PartyRead]
    detection_method: str | None
    modus: list[str]
    narrative: str | None
    warnings: list[Warning_] = Field(default_factory=list)


class MatchPart(BaseModel):
    text: str
    mark: bool = Field(description="a word of the query (shown highlighted)")


class MatchRead(BaseModel):
    """Why a row is a search result: a field where the query's words are found, as an excerpt."""

    field: str = Field(
        description="company, person, container, vessel, bl_awb, vehicle, parcel, reference, place, goods or narrative"
    )
    role: str | None = Field(default=None, description="a party's role (consignee, shipper...)")
    parts: list[MatchPart]


class IncidentSummary(BaseModel):
    id: uuid.UUID
    reference: str
    incident_type: str
    status: str
    incident_date: date
    country: str
    locode: str | None
    owner_org_code: str
    substances: list[str]
    total_kg: Decimal | None
    total_l: Decimal | None
    containers: list[str]
    tlp: str
    is_demo: bool
    snippet: str | None = None
    matched: list[MatchRead] = Field(
        default_factory=list, description="why the row matched the text query or company filter (highlighted)"
    )


class VersionRead(BaseModel):
    version: int
    action: str
    changed_at: datetime
    changed_by: UserRef
    channel: str
    changes: list[dict[str, Any]]
