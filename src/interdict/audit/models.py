"""The append-only audit trail, chained by hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from interdict.core.db import Base, UTCDateTime

GENESIS = "0" * 64


class AuditEntry(Base):
    """One audited event. ``hash`` = SHA-256 of the previous entry's hash and this entry's canonical form
    (see audit.service.entry_hash), so any edited, deleted, inserted or reordered entry breaks the chain."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_id"),
        Index("ix_audit_entries_actor_org_seq", "actor_org_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_username: Mapped[str | None] = mapped_column(String(64), index=True)
    actor_org_id: Mapped[uuid.UUID | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(10))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    object_label: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Organisations (tree roots), besides the actor's, whose auditors read this entry: e.g. the owners of the
    # records a partner's link judgement concerns. Hashed when set (entries without it hash as they always did);
    # AuditEntryOrg indexes it for the auditors' queries.
    org_ids: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))


class AuditHead(Base):
    """One row: the last sequence number and hash. Writers lock it for the moment they append."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditEntryOrg(Base):
    """Index of ``AuditEntry.org_ids`` (one row per entry and organisation) for the auditors' queries. Derived
    from the hashed column, which is the record (``interdict audit verify`` checks the entries)."""

    __tablename__ = "audit_entry_orgs"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("audit_entries.seq"), primary_key=True
    )
