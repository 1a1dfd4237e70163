"""Warning notices, their recipients (with each unit's results report), links, attachments and the numbering
settings of each issuing organisation."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, new_id

NOTICE_STATUSES = ("draft", "submitted", "approved", "issued", "closed")
# Until it is issued a notice is the issuing unit's internal paper: nobody else reads it.
ISSUED = ("issued", "closed")
INDICATOR_KINDS = ("hs_code", "company", "route", "container", "vessel", "method", "other")
REPORT_RESULTS = ("nothing_found", "irregularity", "seizure")


class WarningNotice(Base):
    """A formal warning notice. Shareable like an incident (owner_org_id, created_by_id, version, tlp,
    distribution, sharing_group_id); readable by the issuing unit always, and once issued also by the
    recipient units and by whoever the distribution reaches (notices.service.readable_clause)."""

    __tablename__ = "warning_notices"
    __table_args__ = (UniqueConstraint("owner_org_id", "number", name="uq_warning_notices_owner_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(60))
    notice_date: Mapped[date] = mapped_column(Date, index=True)
    place: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # [{"kind": one of INDICATOR_KINDS, "value": "..."}], in the order written.
    risk_indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), index=True)
    report_deadline: Mapped[date | None] = mapped_column(Date)

    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    distribution: Mapped[str] = mapped_column(String(20), default="unit")
    sharing_group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_groups.id"))
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")

    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The supervisor's comment when approving or returning the draft.
    review_comment: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    issued_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Number, title, body and risk indicators, folded (core.text.search_document), between spaces: searched
    # with LIKE '% word%' (see docs/architecture.md).
    search_text: Mapped[str] = mapped_column(Text, default="")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012

    recipients: Mapped[list[NoticeRecipient]] = relationship(
        cascade="all, delete-orphan", order_by="NoticeRecipient.seq"
    )
    incident_links: Mapped[list[NoticeIncident]] = relationship(
        cascade="all, delete-orphan", order_by="NoticeIncident.seq"
    )
    entity_links: Mapped[list[NoticeEntity]] = relationship(cascade="all, delete-orphan", order_by="NoticeEntity.seq")


class NoticeRecipient(Base):
    """One unit a notice is addressed to, and what it did with it."""

    __tablename__ = "notice_recipients"
    __table_args__ = (UniqueConstraint("notice_id", "org_id", name="uq_notice_recipients_notice_org"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warning_notices.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The results report.
    checked_what: Mapped[str | None] = mapped_column(Text)
    shipments_checked: Mapped[int | None] = mapped_column(Integer)
    declarations_checked: Mapped[int | None] = mapped_column(Integer)
    findings: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(20))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    report_revision: Mapped[int] = mapped_column(Integer, default=0)
    report_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the deadline reminder and the overdue notice were sent (each once).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    report_incidents: Mapped[list[NoticeReportIncident]] = relationship(
        cascade="all, delete-orphan", order_by="NoticeReportIncident.seq"
    )


class NoticeIncident(Base):
    __tablename__ = "notice_incidents"
    __table_args__ = (UniqueConstraint("notice_id", "incident_id", name="uq_notice_incidents_notice_incident"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warning_notices.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)


class NoticeEntity(Base):
    __tablename__ = "notice_entities"
    __table_args__ = (UniqueConstraint("notice_id", "entity_id", name="uq_notice_entities_notice_entity"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warning_notices.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)


class NoticeReportIncident(Base):
    """A new incident a recipient unit links to its results report."""

    __tablename__ = "notice_report_incidents"
    __table_args__ = (
        UniqueConstraint("recipient_id", "incident_id", name="uq_notice_report_incidents_recipient_incident"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notice_recipients.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)


class NoticeAttachment(Base):
    """A file attached to a notice: checked and stored like an incident attachment (incidents.attachments)."""

    __tablename__ = "notice_attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warning_notices.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NoticeSettings(Base):
    """How an issuing organisation numbers its notices and where they are dated. The pattern takes {seq},
    {year} and {org_code}; the agency chooses its own official form (e.g. "{seq}/CBL-ĐTCBL")."""

    __tablename__ = "notice_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    number_pattern: Mapped[str] = mapped_column(String(100))
    place: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
