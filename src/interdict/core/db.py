"""Engine, sessions and the unit of work. Services never commit; boundaries do."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, Table, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use interdict.core.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> uuid.UUID:
    from interdict.core.ids import uuid7

    return uuid7()


# The embedded database has one writer at a time. A writer waits for the lock (up to a minute) instead of
# failing: every write transaction starts with BEGIN IMMEDIATE, which takes the write lock before the
# transaction reads anything. (A deferred transaction that has read and then writes after another writer
# committed gets SQLITE_BUSY at once, whatever the busy timeout: its snapshot is stale.) Reads before a
# transaction's first write run outside it, as pysqlite does, so readers never wait for writers (WAL).
SQLITE_BUSY_TIMEOUT_MS = 60_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def _sqlite_savepoint(conn: Any, _name: str) -> None:
    """A SAVEPOINT outside a transaction would open a deferred one: take the write lock first."""
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        dbapi.execute("BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        # isolation_level: the statement pysqlite puts before a transaction's first write (BEGIN IMMEDIATE).
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "isolation_level": "IMMEDIATE",
        }
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        if url.startswith("postgresql"):
            # JIT compilation costs hundreds of ms on the short interactive queries this application makes.
            # No server-side prepared statements: their generic plans ignore the actual search values
            # (a rare port and a common one need different plans).
            kwargs["connect_args"] = {"options": "-c jit=off", "prepare_threshold": None}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_savepoint)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextlib.contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session; commit if the block succeeds, roll back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL, executemany elsewhere.

    Every row must carry the same keys; JSON columns take Python dicts and lists.
    """
    if not rows:
        return
    bind = session.connection()
    if bind.dialect.name != "postgresql":
        session.execute(table.insert(), rows)
        return
    from psycopg.types.json import Json

    cols = list(rows[0])
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    raw = bind.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([Json(row[c]) if c in json_cols and row[c] is not None else row[c] for c in cols])
