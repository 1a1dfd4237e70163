from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime

URGENCIES = ("routine", "urgent", "immediate")


class Notification(Base):
    """One thing one user is told about one record (an incident, a rapid alert, a warning notice).

    Only a reference is stored, never the content: the title and text are rendered when the user reads
    or is sent the notification, as that user, through the record's own access rules. A record the user
    may no longer read (narrowed, unshared) disappears from the notification centre at once. ``event_key``
    is unique per user, so producing the same event twice (a repeated outbox batch after a crash) never
    tells the same user twice. The integer id orders the live stream (Server-Sent Events' Last-Event-ID).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_key", name="uq_notifications_user_event"),
        Index("ix_notifications_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    ref_type: Mapped[str] = mapped_column(String(30))
    ref_id: Mapped[uuid.UUID]
    event_key: Mapped[str] = mapped_column(String(200))
    urgency: Mapped[str] = mapped_column(String(10), default="routine")
    # Why the user is told, in terms of the user's own things only (the rule or watch list that fired).
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
