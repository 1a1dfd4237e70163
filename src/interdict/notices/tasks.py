"""Deadline follow-up of warning notices: a reminder shortly before the deadline and an overdue notice after it,
each sent once per recipient unit. Run by a worker thread of the server (INTERDICT_NOTICES_WORKER) or by
``interdict notices tick``; both call :func:`tick` with the time, so tests inject it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from interdict.core import worker
from interdict.core.clock import utcnow
from interdict.core.db import unit_of_work
from interdict.notices.models import NoticeRecipient, WarningNotice
from interdict.notices.service import active_users, deadline_passed, tell


@dataclass
class TickResult:
    reminded: int = 0  # recipient units reminded
    overdue: int = 0  # recipient units found overdue (and the issuer told)


def tick(session: Session, now: datetime, *, remind_days: int = 2) -> TickResult:
    """Remind each unit that has not reported once the deadline is ``remind_days`` away or less, and tell the
    unit and the issuing unit once when the deadline has passed without a report. Only issued (open) notices."""
    result = TickResult()
    today = now.date()
    stmt = (
        select(WarningNotice)
        .where(
            WarningNotice.status == "issued",
            WarningNotice.report_deadline.is_not(None),
            WarningNotice.report_deadline <= today + timedelta(days=remind_days),
            WarningNotice.recipients.any(
                (NoticeRecipient.reported_at.is_(None))
                & (NoticeRecipient.overdue_notified_at.is_(None) | NoticeRecipient.reminded_at.is_(None))
            ),
        )
        .options(selectinload(WarningNotice.recipients))
    )
    for notice in session.scalars(stmt):
        assert notice.report_deadline is not None
        for r in notice.recipients:
            if r.reported_at is not None:
                continue
            reason = {"recipient_org_id": str(r.org_id)}
            if deadline_passed(notice.report_deadline, now):
                if r.overdue_notified_at is None:
                    r.overdue_notified_at = now
                    users = set(active_users(session, r.org_id)) | set(active_users(session, notice.owner_org_id))
                    tell(
                        session,
                        notice,
                        sorted(users),
                        "notice.overdue",
                        f"overdue:{r.org_id}",
                        urgency="urgent",
                        reason=reason,
                    )
                    result.overdue += 1
            elif r.reminded_at is None:
                r.reminded_at = now
                tell(
                    session,
                    notice,
                    active_users(session, r.org_id),
                    "notice.reminder",
                    f"remind:{r.org_id}",
                    reason=reason,
                )
                result.reminded += 1
    session.flush()
    return result


def run_once(factory: Any, *, remind_days: int = 2, now: datetime | None = None) -> TickResult:
    with unit_of_work(factory) as session:
        return tick(session, now or utcnow(), remind_days=remind_days)


def make_worker(factory: Any, *, interval: float = 60.0, remind_days: int = 2) -> worker.Worker:
    """A thread of the server that runs :func:`tick` every ``interval`` seconds (a failed tick is retried)."""

    def step(session: Session) -> int:
        tick(session, utcnow(), remind_days=remind_days)
        return 0  # one tick per interval

    return worker.Worker("notices", factory, step, interval=interval)
