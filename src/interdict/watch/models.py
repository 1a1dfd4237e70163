from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, new_id

SCOPES = ("user", "unit")
ENTRY_KINDS = (
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
)


class WatchRule(Base):
    """A saved filter (the incident filter language). ``scope`` user: it tells its owner; unit: every active
    user of ``owner_org_id``. A rule only ever tells someone about incidents they may read."""

    __tablename__ = "watch_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    scope: Mapped[str] = mapped_column(String(10), default="user")
    owner_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    urgency: Mapped[str] = mapped_column(String(10), default="routine")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WatchFire(Base):
    """A rule matched an incident (once per pair: later edits of the incident never fire the rule again)."""

    __tablename__ = "watch_fires"

    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("watch_rules.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WatchList(Base):
    """Entities a unit watches for; every active user of the unit is told when one appears."""

    __tablename__ = "watch_lists"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(10), default="urgent")
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[WatchListEntry]] = relationship(
        cascade="all, delete-orphan", order_by="WatchListEntry.created_at", back_populates="watch_list"
    )


class WatchListEntry(Base):
    """One watched value: as typed, its normalised key (entities.extract), why, and until when."""

    __tablename__ = "watch_list_entries"
    __table_args__ = (Index("ix_watch_list_entries_kind_key", "kind", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("watch_lists.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date | None] = mapped_column(Date)
    added_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    watch_list: Mapped[WatchList] = relationship(back_populates="entries")


class WatchHit(Base):
    """A watched value appeared in an incident: what it matched, as written there, and how closely."""

    __tablename__ = "watch_hits"

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("watch_list_entries.id", ondelete="CASCADE"), primary_key=True
    )
    incident_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(30))
    matched: Mapped[str] = mapped_column(String(500))
    score: Mapped[float] = mapped_column(Float)
    nominal: Mapped[bool] = mapped_column(Boolean, default=False)
    hit_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
