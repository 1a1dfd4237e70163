"""Reminders and escalations of unacknowledged rapid alerts: :func:`tick` (one pass, with the time injected),
run by a thread of the server (``INTERDICT_ALERTS_WORKER``) and by ``interdict alerts tick``.

Each reminder and each escalation happens once per addressed unit (``reminded_at`` / ``escalated_at``, and
the notifications' per-user event keys). Several server processes may run the worker: on PostgreSQL the rows
of one pass are locked with SKIP LOCKED, and a pass that fails is rolled back whole and repeated next time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from interdict.alerts.service import Delays, TickResult
from interdict.alerts.service import tick as _tick
from interdict.core import worker
from interdict.core.clock import utcnow
from interdict.core.db import unit_of_work


def tick(session: Session, now: datetime, delays: Delays) -> TickResult:
    """Remind and escalate what is due at ``now`` (in the caller's transaction)."""
    return _tick(session, now, delays)


def run_once(factory: Any, delays: Delays, *, now: datetime | None = None) -> TickResult:
    """One pass in its own transaction."""
    with unit_of_work(factory) as session:
        return tick(session, now or utcnow(), delays)


def make_worker(factory: Any, delays: Delays, *, interval: float = 30.0) -> worker.Worker:
    def step(session: Session) -> int:
        tick(session, utcnow(), delays)
        return 0  # one pass per interval

    return worker.Worker("alerts", factory, step, interval=interval)
