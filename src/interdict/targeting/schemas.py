"""Targeting workflow shapes (API and forms)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from interdict.core.fields import Keep, Line, OptText, Text
from interdict.core.schemas import Input

Lane = Literal["red", "yellow", "green"]
Outcome = Literal["nothing_found", "irregularity", "seizure"]


class ProfileCreate(Input):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=120)
    criteria: dict[str, Any]
    weight: float | None = Field(default=None, gt=0, le=1)
    lane: Lane | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    rationale: Text = Field(min_length=1, max_length=5000)
    active: bool = True


class ProfileUpdate(Input):
    model_config = ConfigDict(extra="forbid")

    """Fields left out are unchanged; null clears weight, lane and the validity dates, and is refused elsewhere."""

    name: Keep[Line] = Field(default=None, min_length=1, max_length=120)
    criteria: Keep[dict[str, Any]] = None
    weight: float | None = Field(default=None, gt=0, le=1)
    lane: Lane | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    rationale: Keep[Text] = Field(default=None, min_length=1, max_length=5000)
    active: Keep[bool] = None


class ProfileRead(BaseModel):
    id: uuid.UUID
    name: str
    owner_unit: str
    owner: str
    criteria: dict[str, Any]
    weight: float | None
    lane: str | None
    valid_from: date | None
    valid_to: date | None
    rationale: str
    active: bool
    hits: int
    inspected: int
    irregular: int
    hit_rate: float | None
    flagged: bool
    editable: bool


class BatchRead(BaseModel):
    id: uuid.UUID
    name: str
    unit: str
    source_file: str
    mapping_name: str
    rows: int
    loaded: int
    rejected: int
    model_version: str | None
    random_share: float
    created_at: Any


class RejectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row: int
    record_id: str | None
    field: str
    column: str | None
    reason: str


class LoadRead(BaseModel):
    batch: BatchRead
    new: int
    updated: int
    unchanged: int
    rejections: list[RejectionRead]
    note: str | None


class RecordRead(BaseModel):
    id: uuid.UUID
    record_id: str
    date: date
    hs_code: str | None
    containers: list[str]
    vessel: str | None
    voyage: str | None
    bill_of_lading: str | None
    port_loading: str | None
    port_discharge: str | None
    consignee: str | None
    shipper: str | None
    goods_description: str | None
    country_origin: str | None
    score: float | None
    lane: str | None
    reasons: list[dict[str, Any]]
    selected: bool
    selected_reason: str | None
    assigned_to: str | None
    outcome: str | None
    outcome_notes: str | None
    incident_id: uuid.UUID | None


class SelectBody(Input):
    model_config = ConfigDict(extra="forbid")
    record_ids: list[uuid.UUID] = Field(min_length=1)


class AssignBody(Input):
    model_config = ConfigDict(extra="forbid")
    username: Line = Field(min_length=1, max_length=64)


class OutcomeBody(Input):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    notes: OptText = Field(default=None, max_length=5000)
