"""Reminders and escalations of unacknowledged rapid alerts: :func:`tick` (one pass, with the time injected),
run by a thread of the server (``INTERDICT_ALERTS_WORKER``) and by ``interdict alerts tick``.

Each reminder and each escalation happens once per addressed unit (``reminded_at`` / ``escalated_at``, and
the notifications' per-user event keys). Several server processes may run the worker: on PostgreSQL the rows
of one pass are locked with SKIP LOCKED, and a pass that fails is rolled back whole and repeated next time.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from interdict.alerts.service import Delays, TickResult
from interdict.alerts.service import tick as _tick
from interdict.core.clock import utcnow
from interdict.core.db import unit_of_work

log = logging.getLogger("interdict.alerts")


def tick(session: Session, now: datetime, delays: Delays) -> TickResult:
    """Remind and escalate what is due at ``now`` (in the caller's transaction)."""
    return _tick(session, now, delays)


def run_once(factory: Any, delays: Delays, *, now: datetime | None = None) -> TickResult:
    """One pass in its own transaction."""
    with unit_of_work(factory) as session:
        return tick(session, now or utcnow(), delays)


class Worker:
    def __init__(self, factory: Any, delays: Delays, *, interval: float = 30.0) -> None:
        self.factory = factory
        self.delays = delays
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="interdict-alerts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_once(self.factory, self.delays)
            except Exception:  # retried on the next pass; the server keeps serving
                log.exception("alert escalation pass failed; retrying")
            self._stop.wait(self.interval)
