from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, new_id


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_owner_date", "owner_org_id", "incident_date", "reference"),
        Index("ix_incidents_reach_date", "reach", "incident_date", "reference"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    case_reference: Mapped[str | None] = mapped_column(String(100))
    incident_type: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    is_demo: Mapped[bool] = mapped_column(default=False)

    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    distribution: Mapped[str] = mapped_column(String(20), default="organisation")
    sharing_group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_groups.id"))
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    # Whether readers outside the owner's organisation see the person data (see sharing.service).
    share_nominal: Mapped[bool] = mapped_column(default=False)

    incident_date: Mapped[date] = mapped_column(Date, index=True)
    reported_date: Mapped[date] = mapped_column(Date)

    country: Mapped[str] = mapped_column(String(2), index=True)
    locode: Mapped[str | None] = mapped_column(String(5))
    place_type: Mapped[str | None] = mapped_column(String(20))
    place_name: Mapped[str | None] = mapped_column(String(200))
    mode_of_transport: Mapped[str | None] = mapped_column(String(20))

    origin_country: Mapped[str | None] = mapped_column(String(2))
    departure_country: Mapped[str | None] = mapped_column(String(2))
    departure_locode: Mapped[str | None] = mapped_column(String(5))
    destination_country: Mapped[str | None] = mapped_column(String(2))
    destination_locode: Mapped[str | None] = mapped_column(String(5))

    bl_awb: Mapped[str | None] = mapped_column(String(60), index=True)
    vessel_name: Mapped[str | None] = mapped_column(String(120))
    vessel_imo: Mapped[str | None] = mapped_column(String(7), index=True)
    voyage: Mapped[str | None] = mapped_column(String(40))
    vehicle_plate: Mapped[str | None] = mapped_column(String(40))
    parcel_tracking: Mapped[str | None] = mapped_column(String(60))
    goods_description: Mapped[str | None] = mapped_column(Text)
    declared_hs_code: Mapped[str | None] = mapped_column(String(10))

    detection_method: Mapped[str | None] = mapped_column(String(30))
    narrative: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The person data (names, addresses, documents, phones, e-mails of natural persons), folded: searched
    # only by readers who may see it (search.text_match with a nominal clause); None without persons.
    nominal_text: Mapped[str | None] = mapped_column(Text)
    # The parties' names as folded tokens, for the company filter without a join: organisations' names, and
    # natural persons' names apart (nominal data: matched only where the reader may see persons).
    company_names: Mapped[str] = mapped_column(Text, default="")
    person_names: Mapped[str | None] = mapped_column(Text)
    # Who the distribution may reach, as tokens (sharing.audience_tokens), kept by the service on every write;
    # PostgreSQL search pre-filters on it in one GIN index with text_vector, beside sharing.readable().
    audience: Mapped[list[str]] = mapped_column(ARRAY(Text).with_variant(JSON(), "sqlite"), default=list)
    # Its widest token (sharing.set_audience): PostgreSQL pages through the rows a reader may read by walking
    # each of the reader's tokens in the (reach, date) index (sharing.reach_parts).
    reach: Mapped[str] = mapped_column(String(64), default="")

    # Optimistic locking: the UPDATE carries "WHERE version = <the version read>"; the service sets the new one.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012

    substances: Mapped[list[IncidentSubstance]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="IncidentSubstance.seq",
    )
    transits: Mapped[list[IncidentTransit]] = relationship(cascade="all, delete-orphan", order_by="IncidentTransit.seq")
    containers: Mapped[list[IncidentContainer]] = relationship(
        cascade="all, delete-orphan", order_by="IncidentContainer.seq"
    )
    parties: Mapped[list[IncidentParty]] = relationship(cascade="all, delete-orphan", order_by="IncidentParty.seq")
    modus: Mapped[list[IncidentModus]] = relationship(cascade="all, delete-orphan", order_by="IncidentModus.code")
    # Derived search index of every place and route point (see IncidentPlace).
    places: Mapped[list[IncidentPlace]] = relationship(cascade="all, delete-orphan")


class IncidentSubstance(Base):
    __tablename__ = "incident_substances"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    substance_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("substances.id"), index=True)
    other_description: Mapped[str | None] = mapped_column(String(300))
    declared_as: Mapped[str | None] = mapped_column(String(300))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    unit: Mapped[str | None] = mapped_column(String(10))
    quantity_normalised: Mapped[Decimal | None] = mapped_column(Numeric(24, 9))
    unit_normalised: Mapped[str | None] = mapped_column(String(10))
    purity_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    form: Mapped[str | None] = mapped_column(String(20))
    lab_confirmation: Mapped[str | None] = mapped_column(String(20))

    incident: Mapped[Incident] = relationship(back_populates="substances")


class IncidentTransit(Base):
    __tablename__ = "incident_transits"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    country: Mapped[str] = mapped_column(String(2))
    locode: Mapped[str | None] = mapped_column(String(5))


class IncidentPlace(Base):
    """Every country and UN/LOCODE an incident touches (place, origin, departure, transits, destination),
    one row each: the search index behind the "port" and "country on the route" filters. Derived from the
    record on every save; never edited on its own.
    """

    __tablename__ = "incident_places"
    __table_args__ = (
        Index("ix_incident_places_country_incident", "country", "incident_id"),
        Index("ix_incident_places_locode_incident", "locode", "incident_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    country: Mapped[str | None] = mapped_column(String(2))
    locode: Mapped[str | None] = mapped_column(String(5))


class IncidentContainer(Base):
    __tablename__ = "incident_containers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(11), index=True)
    seal_numbers: Mapped[str | None] = mapped_column(String(200))


class IncidentParty(Base):
    __tablename__ = "incident_parties"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str | None] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(2))
    tax_id: Mapped[str | None] = mapped_column(String(60))
    id_document: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(200))


class IncidentModus(Base):
    __tablename__ = "incident_modus"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60), index=True)


class IncidentVersion(Base):
    """One row per saved version: a full snapshot and the field-level changes from the previous one."""

    __tablename__ = "incident_versions"
    __table_args__ = (UniqueConstraint("incident_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    changed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(10))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferenceCounter(Base):
    """Next incident number per (organisation, year), for human-readable references."""

    __tablename__ = "reference_counters"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)
