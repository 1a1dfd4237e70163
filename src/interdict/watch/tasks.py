"""The watch worker: fires watch rules and watch lists on incident events within a second of their commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from interdict.core import worker
from interdict.watch.service import process_events

BATCH = 200


def step(session: Session) -> int:
    return process_events(session, limit=BATCH)


def drain(factory: Any) -> int:
    return worker.drain(factory, step, batch=BATCH)


def make_worker(factory: Any, interval: float) -> worker.Worker:
    return worker.Worker("watch", factory, step, interval=interval, batch=BATCH)
