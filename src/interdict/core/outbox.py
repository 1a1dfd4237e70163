"""Transactional outbox: domain events written in the same transaction as the change.

Producers call :func:`emit` inside their unit of work; consumers (linkage, alerts) read
unprocessed events in order and mark them processed, so a crash never loses an event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    topic: Mapped[str] = mapped_column(String(80), index=True)
    aggregate_id: Mapped[uuid.UUID] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


def emit(session: Session, topic: str, aggregate_id: uuid.UUID, payload: dict[str, Any]) -> None:
    session.add(OutboxEvent(topic=topic, aggregate_id=aggregate_id, payload=payload, attempts=0))


def pending(session: Session, *, topics: list[str] | None = None, limit: int = 100) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
    if topics:
        stmt = stmt.where(OutboxEvent.topic.in_(topics))
    return list(session.scalars(stmt))
