"""The linkage worker: a thread of the server (and ``interdict linkage run``) that links new and changed
incidents within seconds, reading the incident events from the outbox (linkage.service.process_events).

Several server processes may run it: the consumer position is locked per batch (SKIP LOCKED on PostgreSQL),
so one process links a batch while the others wait for the next tick. A crash in a batch rolls the batch
back and the position with it; the next tick repeats it.
"""

from __future__ import annotations

from typing import Any

from interdict.core import worker
from interdict.core.db import unit_of_work
from interdict.linkage.service import process_events


def run_once(factory: Any, *, limit: int = 200) -> int:
    """Process the next batch of events in its own transaction; returns how many events were read."""
    with unit_of_work(factory) as session:
        return process_events(session, limit=limit)


def drain(factory: Any, *, limit: int = 200) -> int:
    total = 0
    while (n := run_once(factory, limit=limit)) > 0:
        total += n
    return total


# A worker step links for about this long, then commits (see process_events): alerts wait for it on PostgreSQL.
STEP_BUDGET = 0.2


def make_worker(factory: Any, *, interval: float = 1.0, limit: int = 200) -> worker.Worker:
    # batch=1: a step that linked anything is followed by the next one at once (a step cut short by its time
    # budget reads fewer than `limit` events although more are waiting).
    return worker.Worker(
        "linkage",
        factory,
        lambda session: process_events(session, limit=limit, budget=STEP_BUDGET),
        interval=interval,
        batch=1,
    )
