"""The embedded database under concurrent writers: writes wait for each other and succeed (issue 16)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from interdict.core.db import make_engine, make_sessionmaker, unit_of_work


def _run(*targets: object) -> list[BaseException]:
    errors: list[BaseException] = []

    def guard(fn: object) -> None:
        try:
            fn()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_a_transaction_that_read_before_writing_waits_instead_of_failing(tmp_path: Path) -> None:
    """A transaction opened by a savepoint (as the first reference counter of a year is created) reads, another
    writer commits meanwhile, then the first one writes: SQLite answered "database is locked" at once (its
    snapshot was stale, so no busy timeout helps). Now it holds the write lock from its start: the other writer
    waits, and both succeed."""
    engine = make_engine(f"sqlite:///{(tmp_path / 't.db').as_posix()}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counters (n INTEGER)"))
    factory = make_sessionmaker(engine)
    has_read, other_done = threading.Event(), threading.Event()

    def first() -> None:
        with unit_of_work(factory) as s, s.begin_nested():
            s.execute(text("SELECT count(*) FROM counters")).scalar()
            has_read.set()
            other_done.wait(1.0)  # the other writer commits now, or waits for this one
            s.execute(text("INSERT INTO counters VALUES (1)"))

    def second() -> None:
        has_read.wait(10)
        with unit_of_work(factory) as s:
            s.execute(text("INSERT INTO counters VALUES (2)"))
        other_done.set()

    assert _run(first, second) == []
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT n FROM counters")).scalars()) == [1, 2]
    engine.dispose()


def test_many_writers_all_succeed(tmp_path: Path) -> None:
    """Eight threads each run twenty read-then-write transactions: none fails, no write is lost."""
    engine = make_engine(f"sqlite:///{(tmp_path / 't.db').as_posix()}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    factory = make_sessionmaker(engine)

    def writer() -> None:
        for _ in range(20):
            with unit_of_work(factory) as s, s.begin_nested():
                n = s.execute(text("SELECT n FROM counter")).scalar_one()
                s.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    assert _run(*[writer] * 8) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 160
    engine.dispose()
