"""Pydantic shapes of warning notices: what the API and forms accept, and what they return."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from interdict.core.fields import Line, OptLine, OptText, Text
from interdict.core.schemas import Input
from interdict.incidents.vocab import Distribution, Tlp

IndicatorKind = Literal["hs_code", "company", "route", "container", "vessel", "method", "other"]
ReportResult = Literal["nothing_found", "irregularity", "seizure"]
NoticeStatus = Literal["draft", "submitted", "approved", "issued", "closed"]


class Strict(Input):
    model_config = ConfigDict(extra="forbid", str_max_length=50000)


class RiskIndicator(Strict):
    kind: IndicatorKind
    value: Line = Field(min_length=1, max_length=500, description="The HS code, company, route, container, ...")


class NoticeBase(Strict):
    number: OptLine = Field(
        default=None,
        max_length=60,
        description="The notice's number; left out, the next one of your organisation's pattern is given.",
    )
    notice_date: date
    place: OptLine = Field(default=None, max_length=100, description="Where it is dated (e.g. Hà Nội).")
    title: Line = Field(min_length=3, max_length=300)
    body: Text = Field(min_length=1, max_length=50000, description="Plain text; paragraphs separated by blank lines.")
    risk_indicators: list[RiskIndicator] = Field(default_factory=list, max_length=100)
    incidents: list[Line] = Field(
        default_factory=list, max_length=200, description="Linked incidents (id or reference) that you may read."
    )
    entities: list[uuid.UUID] = Field(
        default_factory=list, max_length=200, description="Linked entities of the register that you may see."
    )
    recipients: list[Line] = Field(default_factory=list, max_length=200, description="Organisation codes.")
    report_deadline: date | None = Field(default=None, description="When each unit's results report is due.")
    distribution: Distribution = Field(
        default="unit",
        description="Who besides the recipient units reads it once issued (before that: the issuing unit only).",
    )
    sharing_group: OptLine = Field(
        default=None, max_length=40, description="Group code; required with distribution 'group'."
    )
    tlp: Tlp = "AMBER"


class NoticeCreate(NoticeBase):
    pass


class NoticePatch(Strict):
    """Only while the notice is a draft. Fields left out are kept."""

    version: int
    number: OptLine = Field(default=None, max_length=60)
    notice_date: date | None = None
    place: OptLine = Field(default=None, max_length=100)
    title: Line | None = Field(default=None, min_length=3, max_length=300)
    body: Text | None = Field(default=None, min_length=1, max_length=50000)
    risk_indicators: list[RiskIndicator] | None = Field(default=None, max_length=100)
    incidents: list[Line] | None = Field(default=None, max_length=200)
    entities: list[uuid.UUID] | None = Field(default=None, max_length=200)
    recipients: list[Line] | None = Field(default=None, max_length=200)
    report_deadline: date | None = None
    distribution: Distribution | None = None
    sharing_group: OptLine = Field(default=None, max_length=40)
    tlp: Tlp | None = None


class TransitionBody(Strict):
    version: int
    comment: OptText = Field(default=None, max_length=2000, description="The supervisor's comment (approve / return).")


class ReportBody(Strict):
    checked_what: Text = Field(min_length=1, max_length=20000, description="What was checked.")
    shipments_checked: int = Field(ge=0, le=10_000_000)
    declarations_checked: int = Field(ge=0, le=10_000_000)
    findings: OptText = Field(default=None, max_length=20000)
    result: ReportResult
    incidents: list[Line] = Field(default_factory=list, max_length=100, description="New incidents (id or reference).")


class NumberingBody(Strict):
    number_pattern: Line = Field(min_length=5, max_length=100, description="With {seq}; may use {year}, {org_code}.")
    place: OptLine = Field(default=None, max_length=100)


class OrgRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    name_local: str | None = None  # the name in the organisation's own language (Vietnamese for Vietnam Customs)


class UserRef(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str


class IncidentLinkRead(BaseModel):
    id: uuid.UUID
    reference: str
    incident_date: date


class EntityLinkRead(BaseModel):
    id: uuid.UUID
    kind: str
    name: str = Field(description="As written in an incident you may read.")


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    description: str | None
    created_at: datetime


class ReportRead(BaseModel):
    checked_what: str | None
    shipments_checked: int | None
    declarations_checked: int | None
    findings: str | None
    result: str | None
    reported_at: datetime | None
    reported_by: UserRef | None
    report_revision: int
    report_updated_at: datetime | None
    incidents: list[IncidentLinkRead]
    incidents_withheld: int = Field(description="Linked incidents you may not read (not shown).")


class RecipientRead(BaseModel):
    org: OrgRef
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: UserRef | None
    reported_at: datetime | None
    overdue: bool
    report: ReportRead | None = Field(
        description="The results report: shown to the issuing unit and to the reporting unit itself."
    )


class NoticeRead(BaseModel):
    id: uuid.UUID
    number: str
    notice_date: date
    place: str | None
    title: str
    body: str
    risk_indicators: list[RiskIndicator]
    status: NoticeStatus
    report_deadline: date | None
    owner_org: OrgRef
    created_by: UserRef
    created_at: datetime
    updated_at: datetime
    version: int
    distribution: str
    sharing_group: str | None
    tlp: str
    submitted_at: datetime | None
    approved_at: datetime | None
    approved_by: UserRef | None
    review_comment: str | None
    issued_at: datetime | None
    closed_at: datetime | None
    incidents: list[IncidentLinkRead]
    incidents_withheld: int = Field(description="Linked incidents you may not read (not shown).")
    entities: list[EntityLinkRead]
    recipients: list[RecipientRead] = Field(
        description="Every addressed unit for the issuing unit; your own unit only for a recipient."
    )
    recipient_names: list[str] = Field(description="The addressed units (the document's 'Nơi nhận').")
    attachments: list[AttachmentRead]


class NoticeSummary(BaseModel):
    id: uuid.UUID
    number: str
    notice_date: date
    title: str
    status: NoticeStatus
    owner_org: OrgRef
    tlp: str
    issued_at: datetime | None
    report_deadline: date | None
    recipients: int
    acknowledged: int
    reported: int
    overdue: int


class UnitStatus(BaseModel):
    notice_id: uuid.UUID
    number: str
    title: str
    report_deadline: date | None
    org: OrgRef
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    reported_at: datetime | None
    overdue: bool


class YearCount(BaseModel):
    year: int
    issued: int
    fully_reported: int
    overdue: int


class Dashboard(BaseModel):
    notices: list[NoticeSummary]
    units: list[UnitStatus]
    years: list[YearCount]


class NumberingRead(BaseModel):
    number_pattern: str
    place: str | None
    next_number: str
