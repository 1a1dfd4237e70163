"""The entity register: companies, persons, identifiers, containers and vessels found in incidents.

An :class:`Entity` is one normalised value of one kind (a company's normalised name, a phone in E.164,
a container number); :class:`EntityMention` says which incident mentions it, in which role and with which
original text. Entities that the linkage engine finds to be the same (an automatic link above the upper
threshold, or a binding judgement: a confirmation by the agency that owns every record mentioning them) share a
``canonical_id``: the canonical entity of their cluster as every reader sees it. An agency's own judgements
change only its own view (linkage.service.clusters_for).
Entities carry no sharing of their own: what a reader learns of one comes only through the incidents that
mention it and that the reader may read (entities.service applies sharing.readable to the incidents).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, new_id


class Entity(Base):
    __tablename__ = "entities"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # company, organisation, person, address, phone, email, tax_id, id_document, container, vessel,
    # bill_of_lading, parcel, vehicle
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(300))  # the normalised value that makes two mentions one entity
    name: Mapped[str] = mapped_column(String(300))  # how it was first written
    country: Mapped[str | None] = mapped_column(String(2))
    # Natural persons and their identifiers are nominal data: shown only where the reader may see persons.
    nominal: Mapped[bool] = mapped_column(Boolean, default=False)
    canonical_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entities.id"), index=True)
    incident_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[date | None] = mapped_column(Date)
    last_seen: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntityMention(Base):
    __tablename__ = "entity_mentions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))  # the party role, or container / vessel / bill_of_lading ...
    text: Mapped[str] = mapped_column(String(500))  # as written in the incident
    seen_on: Mapped[date | None] = mapped_column(Date)  # the incident's date


class EntityToken(Base):
    """Candidate generation for name matching: the entities that share a normalised token (no full scans)."""

    __tablename__ = "entity_tokens"

    token: Mapped[str] = mapped_column(String(80), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True)
    __table_args__ = (Index("ix_entity_tokens_entity_id", "entity_id"),)


class EntityLink(Base):
    """A scored pair of entities of one kind as the register found it: ``auto`` (at or above the link threshold)
    or ``suggested`` (between the thresholds, for an analyst). The register never scores a pair it holds again,
    so a judged pair is never re-linked or re-suggested. What analysts decide about a pair is an
    :class:`EntityLinkJudgement` of their agency; the link itself stays as the register found it."""

    __tablename__ = "entity_links"
    __table_args__ = (UniqueConstraint("entity_a_id", "entity_b_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    entity_a_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    entity_b_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), index=True)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntityLinkJudgement(Base):
    """An agency's judgement of a link: the two entities are the same (``confirmed``) or not (``rejected``).

    It belongs to the judging agency (``org_id``: the root of the judge's organisation tree, so all units of an
    agency share its judgements) and decides what that agency's users see. It decides for every other reader
    only while it is ``binding``: the judging agency owns every incident that mentions either entity (the owner
    of the records on both sides agrees). ``binding`` is kept current when mentions change
    (linkage.service.refresh_binding); at most one agency can own every such incident, so a link has at most
    one binding judgement."""

    __tablename__ = "entity_link_judgements"
    __table_args__ = (UniqueConstraint("link_id", "org_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    link_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entity_links.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(12))
    binding: Mapped[bool] = mapped_column(Boolean, default=False)
    judged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    judged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeconflictionNotice(Base):
    """Told to the organisation that owns an incident when another organisation, which may not read it, records
    an incident matching it: who to contact, through what kind of value, and nothing of the other record."""

    __tablename__ = "deconfliction_notices"
    __table_args__ = (UniqueConstraint("incident_id", "matching_incident_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)  # told
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    matching_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))  # to contact
    # Never shown to the notified side (it may not read it); kept to avoid telling the same match twice.
    matching_incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kinds: Mapped[list[Any]] = mapped_column(JSON, default=list)  # e.g. ["container", "company"]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
