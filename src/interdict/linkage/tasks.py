"""The linkage worker: a thread of the server (and ``interdict linkage run``) that links new and changed
incidents within seconds, reading the incident events from the outbox (linkage.service.process_events).

Several server processes may run it: the consumer position is locked per batch (SKIP LOCKED on PostgreSQL),
so one process links a batch while the others wait for the next tick. A crash in a batch rolls the batch
back and the position with it; the next tick repeats it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from interdict.core.db import unit_of_work
from interdict.linkage.service import process_events

log = logging.getLogger("interdict.linkage")


def run_once(factory: Any, *, limit: int = 200) -> int:
    """Process the next batch of events in its own transaction; returns how many events were read."""
    with unit_of_work(factory) as session:
        return process_events(session, limit=limit)


def drain(factory: Any, *, limit: int = 200) -> int:
    total = 0
    while (n := run_once(factory, limit=limit)) > 0:
        total += n
    return total


class Worker:
    def __init__(self, factory: Any, *, interval: float = 1.0, limit: int = 200) -> None:
        self.factory = factory
        self.interval = interval
        self.limit = limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="interdict-linkage", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = run_once(self.factory, limit=self.limit) >= self.limit
            except Exception:  # a failed batch is retried on the next tick; the server keeps serving
                log.exception("linkage batch failed; retrying")
                busy = False
            if not busy:
                self._stop.wait(self.interval)
