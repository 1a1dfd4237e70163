"""A background worker that waits on the outbox starts its next step when a transaction of its process that wrote an
event commits, not at its next tick; a rolled-back transaction, or a savepoint released before the commit, wakes it
for nothing (issue 16: alert fan-out)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from interdict.core import outbox, wakeup
from interdict.core.db import unit_of_work
from interdict.core.worker import Worker


class Steps:
    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self, session: Session) -> int:
        with self.changed:
            self.count += 1
            self.changed.notify_all()
        return 0

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= count, timeout)


def _emit(session: Session) -> None:
    outbox.emit(session, "test.wakeup", uuid.uuid4(), {})


def test_an_outbox_commit_wakes_the_worker_at_once(app: FastAPI) -> None:
    factory = app.state.sessionmaker
    steps = Steps()
    worker = Worker("test-wakeup", factory, steps, interval=30.0, wake_on=wakeup.OUTBOX)
    worker.start()
    try:
        assert steps.wait_for(1, 10)  # the first step runs at the start
        # Rolled back: nothing to do, nobody woken.
        with pytest.raises(RuntimeError), unit_of_work(factory) as s:
            _emit(s)
            s.flush()
            raise RuntimeError("rolled back")
        # A savepoint released inside a transaction that is still open: not yet visible, nobody woken.
        session = factory()
        try:
            with session.begin_nested():
                _emit(session)
            time.sleep(0.3)
            assert steps.count == 1
            started = time.monotonic()
            session.commit()  # now: the next step starts at once, not 30 s later
        finally:
            session.close()
        assert steps.wait_for(2, 10) and time.monotonic() - started < 5
        time.sleep(0.3)
        assert steps.count == 2  # one commit, one step
    finally:
        worker.stop()
