"""Targeting workflow tables: loads (batches), the records they brought, their rejections, risk profiles and
which records each profile hit. Batches and records belong to the loading unit (``owner_org_id``); a record id
is unique within the owning organisation (``root_org_id``): reloading updates the row in place."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, new_id

LANES = ("red", "yellow", "green")
OUTCOMES = ("nothing_found", "irregularity", "seizure")
SELECTED_REASONS = ("risk", "random")
REASON_SOURCES = ("profile", "intelligence", "model", "random")


class TargetingBatch(Base):
    """One load: a vessel arrival or a batch of declarations, owned by the unit that loaded it."""

    __tablename__ = "targeting_batches"
    __table_args__ = (UniqueConstraint("owner_org_id", "name", name="uq_targeting_batches_owner_org_id_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source_file: Mapped[str] = mapped_column(String(255))
    mapping_name: Mapped[str] = mapped_column(String(120))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    loaded: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    model_version: Mapped[str | None] = mapped_column(String(120))
    random_share: Mapped[float] = mapped_column(Float, default=0.0)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TargetingRecord(Base):
    """One manifest line / bill of lading / declaration: its canonical fields, score, lane, reasons and the
    PCU's decision on it (selected, assigned, outcome)."""

    __tablename__ = "targeting_records"
    __table_args__ = (
        UniqueConstraint("root_org_id", "record_id", name="uq_targeting_records_root_org_id_record_id"),
        Index("ix_targeting_records_batch_id_score", "batch_id", "score"),
        Index("ix_targeting_records_root_org_id_consignee_key", "root_org_id", "consignee_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("targeting_batches.id", ondelete="CASCADE"))
    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    root_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    record_id: Mapped[str] = mapped_column(String(120))
    date: Mapped[date] = mapped_column(Date, index=True)
    hs_code: Mapped[str | None] = mapped_column(String(12))
    containers: Mapped[list[str]] = mapped_column(JSON, default=list)
    vessel: Mapped[str | None] = mapped_column(String(200))
    voyage: Mapped[str | None] = mapped_column(String(60))
    bill_of_lading: Mapped[str | None] = mapped_column(String(100))
    port_loading: Mapped[str | None] = mapped_column(String(10))
    port_discharge: Mapped[str | None] = mapped_column(String(10))
    port_transshipment: Mapped[list[str]] = mapped_column(JSON, default=list)
    shipper: Mapped[str | None] = mapped_column(String(300))
    consignee: Mapped[str | None] = mapped_column(String(300))
    importer: Mapped[str | None] = mapped_column(String(300))
    declarant: Mapped[str | None] = mapped_column(String(300))
    notify_party: Mapped[str | None] = mapped_column(String(300))
    goods_description: Mapped[str | None] = mapped_column(Text)
    country_origin: Mapped[str | None] = mapped_column(String(10))
    country_departure: Mapped[str | None] = mapped_column(String(10))
    office: Mapped[str | None] = mapped_column(String(60))
    gross_weight: Mapped[float | None] = mapped_column(Float)
    net_weight: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    # Derived at load, so the filter language's SQL and Python forms read the same values (see profiles.py).
    shipper_key: Mapped[str | None] = mapped_column(String(300))
    consignee_key: Mapped[str | None] = mapped_column(String(300))
    importer_key: Mapped[str | None] = mapped_column(String(300))
    declarant_key: Mapped[str | None] = mapped_column(String(300))
    goods_words: Mapped[str | None] = mapped_column(Text)
    value_per_kg: Mapped[float | None] = mapped_column(Float)
    chemical_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    consignee_first_seen_days: Mapped[int | None] = mapped_column(Integer)
    transshipment_text: Mapped[str] = mapped_column(String(300), default="")
    phones_text: Mapped[str] = mapped_column(Text, default="")  # " +8490... +8491... " for profile conditions
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    lane: Mapped[str | None] = mapped_column(String(10))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    selected: Mapped[bool] = mapped_column(Boolean, default=False)
    selected_reason: Mapped[str | None] = mapped_column(String(10))
    selected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    selected_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_notes: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TargetingRejection(Base):
    """One problem with one row of a load (as the mapping loader reported it)."""

    __tablename__ = "targeting_rejections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("targeting_batches.id", ondelete="CASCADE"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str | None] = mapped_column(String(120))
    field: Mapped[str] = mapped_column(String(60))
    column: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class RiskProfile(Base):
    """An analyst's risk profile: criteria in the filter language (targeting fields), a weight or a direct
    lane, validity dates, an owner and a rationale. It applies to the loads of its owner's organisation tree."""

    __tablename__ = "risk_profiles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    root_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    owner_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(120))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    weight: Mapped[float | None] = mapped_column(Float)
    lane: Mapped[str | None] = mapped_column(String(10))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    rationale: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProfileHit(Base):
    """A profile matched a record when it was scored (for hit rates: joined with the record's outcome)."""

    __tablename__ = "profile_hits"

    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risk_profiles.id", ondelete="CASCADE"), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("targeting_records.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    hit_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskProfileVersion(Base):
    """One saved state of a risk profile (created, changed, switched off or on): who, when, and the whole profile
    as it then was, so its history reads as a list of changes."""

    __tablename__ = "risk_profile_versions"
    __table_args__ = (UniqueConstraint("profile_id", "version", name="uq_risk_profile_versions_profile_id_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risk_profiles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # created / changed / deactivated / activated
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
