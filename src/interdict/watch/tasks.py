"""The watch worker: fires watch rules and watch lists on incident events within a second of their commit (at once
when the event was committed in this process: the worker wakes on the outbox's commits).

Between events the worker keeps the compiled rule book and watch-list book up to date (checked every
``BOOKS_SECONDS``), so compiling 10,000 rules after a start or a rule change is not paid by the next incident."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from interdict.core import wakeup, worker
from interdict.watch.service import list_book, process_events, rule_book

BATCH = 200
BOOKS_SECONDS = 5.0


def step(session: Session) -> int:
    return process_events(session, limit=BATCH)


def drain(factory: Any) -> int:
    return worker.drain(factory, step, batch=BATCH)


class _Step:
    """The worker's step: the events, or, when there are none, the books (at most every BOOKS_SECONDS)."""

    def __init__(self) -> None:
        self.books_checked: float | None = None

    def __call__(self, session: Session) -> int:
        done = step(session)
        now = time.monotonic()
        if done == 0 and (self.books_checked is None or now - self.books_checked >= BOOKS_SECONDS):
            self.books_checked = now
            rule_book(session)
            list_book(session)
        return done


def make_worker(factory: Any, interval: float) -> worker.Worker:
    return worker.Worker("watch", factory, _Step(), interval=interval, batch=BATCH, wake_on=wakeup.OUTBOX)
