"""Transactional outbox: domain events written in the same transaction as the change.

Producers call :func:`emit` inside their unit of work; consumers (linkage, alerts) read
unprocessed events in order and mark them processed, so a crash never loses an event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, FetchedValue, Integer, String, literal, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from interdict.core import wakeup
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
    # PostgreSQL: the writing transaction's id (a server default, migration 0008). Ids are assigned at INSERT
    # but transactions commit in another order, so consumers read in (xid, id) order and only below the
    # oldest running transaction: that part of the log can no longer change. NULL on SQLite (one writer).
    xid: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), server_default=FetchedValue()
    )


class ConsumerOffset(Base):
    """How far a consumer (linkage, alerts) has read the outbox: each consumer keeps its own position, so
    one event reaches every consumer, and a consumer that crashes resumes after its last committed event."""

    __tablename__ = "outbox_consumers"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    last_xid: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def emit(session: Session, topic: str, aggregate_id: uuid.UUID, payload: dict[str, Any]) -> None:
    session.add(OutboxEvent(topic=topic, aggregate_id=aggregate_id, payload=payload, attempts=0))
    wakeup.mark(session, wakeup.OUTBOX)  # this process's consumers that wait on the outbox start at the commit


def pending(session: Session, *, topics: list[str] | None = None, limit: int = 100) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
    if topics:
        stmt = stmt.where(OutboxEvent.topic.in_(topics))
    return list(session.scalars(stmt))


# The oldest transaction of THIS database still running: events below it can no longer appear or change.
# pg_snapshot_xmin alone is server-wide, so a long transaction in another database on the same server would
# stall every consumer; running transactions known to belong to other databases (pg_stat_activity) are left
# out. A transaction whose database cannot be told (no privilege to see it, or it ended meanwhile) counts,
# which can only delay a consumer, never make it skip an event. xid8 values carry the epoch in the high 32
# bits; pg_stat_activity shows the low 32.
HORIZON_SQL = """(SELECT coalesce(
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE (x::text::bigint % 4294967296) NOT IN (
        SELECT backend_xid::text::bigint FROM pg_stat_activity
         WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database())),
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint))"""


def claim(session: Session, consumer: str, *, topics: list[str], limit: int = 200) -> list[OutboxEvent] | None:
    """The next events for ``consumer`` after its position, in commit-safe order, with its position row locked
    until the caller's transaction ends; None when another process holds it (PostgreSQL, SKIP LOCKED). The
    caller handles the events and calls :func:`advance` in the same transaction, so a crash repeats work, never
    skips it."""
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = select(ConsumerOffset).where(ConsumerOffset.name == consumer)
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    offset = session.scalar(stmt)
    if offset is None:
        if session.get(ConsumerOffset, consumer) is None:
            # The consumer's first run. Worker processes of `serve --workers N` start together and may all get here:
            # the position is created by whoever inserts first, the others' inserts do nothing (no unique-key error).
            _create_position(session, consumer)
        offset = session.scalar(stmt)
        if offset is None:
            return None  # locked by another worker
    events = select(OutboxEvent).where(OutboxEvent.topic.in_(topics))
    if postgres:
        horizon = text(HORIZON_SQL)
        events = events.where(
            OutboxEvent.xid < horizon,
            tuple_(OutboxEvent.xid, OutboxEvent.id) > tuple_(literal(offset.last_xid), literal(offset.last_event_id)),
        ).order_by(OutboxEvent.xid, OutboxEvent.id)
    else:
        events = events.where(OutboxEvent.id > offset.last_event_id).order_by(OutboxEvent.id)
    return list(session.scalars(events.limit(limit)))


def _create_position(session: Session, consumer: str) -> None:
    values = {"name": consumer, "last_event_id": 0, "last_xid": 0, "updated_at": utcnow()}
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(ConsumerOffset).values(**values).on_conflict_do_nothing(index_elements=["name"]))


def advance(session: Session, consumer: str, last: OutboxEvent) -> None:
    """Move ``consumer``'s position past ``last`` (in the transaction that handled the events up to it)."""
    offset = session.get(ConsumerOffset, consumer)
    if offset is None:
        raise RuntimeError("advance() without claim()")
    offset.last_event_id = last.id
    offset.last_xid = last.xid or 0
    offset.updated_at = utcnow()


def consumed(session: Session, consumer: str, *, topics: list[str], aggregate_id: uuid.UUID) -> bool:
    """Whether ``consumer`` has handled every committed event of ``aggregate_id`` (in ``topics``): none of them
    lies after its position (in the order :func:`claim` reads). True when there is no such event at all."""
    offset = session.get(ConsumerOffset, consumer)
    events = select(OutboxEvent.id).where(OutboxEvent.topic.in_(topics), OutboxEvent.aggregate_id == aggregate_id)
    if offset is not None:
        if session.get_bind().dialect.name == "postgresql":
            position = tuple_(literal(offset.last_xid), literal(offset.last_event_id))
            events = events.where(tuple_(OutboxEvent.xid, OutboxEvent.id) > position)
        else:
            events = events.where(OutboxEvent.id > offset.last_event_id)
    return session.scalar(events.limit(1)) is None
