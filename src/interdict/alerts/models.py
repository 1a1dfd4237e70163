"""Rapid alerts: a shareable record addressed to units, with per-addressee tracking and a response thread."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, new_id

URGENCIES = ("routine", "urgent", "immediate")
STATUSES = ("issued", "closed", "cancelled")
# How an organisation became an addressee: named on the alert, through a sharing group (expanded when the
# alert was issued), or told because a unit below it did not acknowledge (escalation to the parent's head).
SOURCES = ("organisation", "group", "escalation")


class RapidAlert(Base):
    """What to look for, sent to named units now. Shareable like an incident (distribution, sharing group,
    TLP, nominal data); its addressees read it whatever the distribution (addressing is sharing), see
    ``alerts.service.readable_clause``. The "look for" lists are JSON: they are read with the alert, never
    queried on their own."""

    __tablename__ = "rapid_alerts"
    __table_args__ = (Index("ix_rapid_alerts_owner_created", "owner_org_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="issued", index=True)
    urgency: Mapped[str] = mapped_column(String(10), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)

    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    distribution: Mapped[str] = mapped_column(String(20), default="unit")
    sharing_group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_groups.id"))
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    share_nominal: Mapped[bool] = mapped_column(default=False)

    # What to look for.
    vessel_name: Mapped[str | None] = mapped_column(String(120))
    vessel_imo: Mapped[str | None] = mapped_column(String(7))
    voyage: Mapped[str | None] = mapped_column(String(40))
    bl_awb: Mapped[str | None] = mapped_column(String(60))
    expected_arrival: Mapped[datetime | None] = mapped_column(UTCDateTime)
    containers: Mapped[list[str]] = mapped_column(JSON, default=list)
    companies: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Natural persons (nominal data): [{"name", "nationality", "id_document"}]; shown per sharing.can_see_nominal.
    persons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The route in order: [{"country", "locode"}].
    route: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Catalogue substance ids (uuid5 of the key: stable across reference reloads).
    substance_ids: Mapped[list[str]] = mapped_column(JSON, default=list)

    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    close_note: Mapped[str | None] = mapped_column(String(2000))

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012

    addressees: Mapped[list[AlertAddressee]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertAddressee.seq"
    )
    incident_links: Mapped[list[AlertIncident]] = relationship(cascade="all, delete-orphan")


class AlertIncident(Base):
    """An incident the issuer linked to the alert (the issuer could read it); shown only to readers of it."""

    __tablename__ = "alert_incidents"

    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rapid_alerts.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), primary_key=True, index=True)


class AlertAddressee(Base):
    """One addressed organisation of one alert and what it did with it, when and who."""

    __tablename__ = "alert_addressees"
    __table_args__ = (UniqueConstraint("alert_id", "org_id", name="uq_alert_addressees_alert_org"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rapid_alerts.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(12))
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_groups.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When its users were notified (None: the unit had no active user to tell).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_read_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whom the escalation went to (user ids), for the issuer's view.
    escalated_to: Mapped[list[str]] = mapped_column(JSON, default=list)

    alert: Mapped[RapidAlert] = relationship(back_populates="addressees")


class AlertResponse(Base):
    """One message in the alert's thread ("container CSQU3054383 inspected 14:20, nothing found")."""

    __tablename__ = "alert_responses"
    __table_args__ = (Index("ix_alert_responses_alert_created", "alert_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rapid_alerts.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The incident recorded from this response ("create incident from this response").
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id"))


class AlertCounter(Base):
    """Next alert number per year, for references like RA-2026-000123."""

    __tablename__ = "alert_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)
