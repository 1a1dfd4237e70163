"""Planning deliveries: for every notification created, the e-mail and webhook messages it should cause are
written to the durable outbox (``notification_deliveries``) in the SAME transaction (the ``on_notified`` hook),
so a crash after the commit loses none and a rollback sends none. The dispatcher (``tasks.py``) sends them.

What is planned follows the user's preferences: urgencies sent by e-mail at once (default urgent and immediate),
the rest in a daily digest (or not at all); at most ``email_max_per_hour`` immediate e-mails per user and hour,
further items being folded into one "N more notifications" message. Webhooks get every notification of their
owner (optionally only some kinds); they are machines and are not throttled.

Nothing here knows which producer created the notification: only its user, kind, urgency and time are read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from interdict.accounts.models import User
from interdict.config import Settings
from interdict.core.db import new_id
from interdict.core.errors import FieldError, InvalidInput
from interdict.core.i18n import N_
from interdict.notifications import service
from interdict.notifications.models import (
    DIGEST_MODES,
    URGENCIES,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    WebhookEndpoint,
)


@dataclass(frozen=True)
class DeliveryConfig:
    email_enabled: bool = False
    email_max_per_hour: int = 20
    summary_minutes: int = 15
    digest_hour: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        return cls(
            email_enabled=settings.email_enabled,
            email_max_per_hour=settings.email_max_per_hour,
            summary_minutes=settings.email_summary_minutes,
            digest_hour=settings.digest_hour,
        )


_CONFIG = DeliveryConfig()


def install(settings: Settings) -> None:
    """Plan deliveries for every notification from now on, with these settings (called by create_app and by the
    CLI commands that create notifications or dispatch them; the last call's settings apply)."""
    global _CONFIG
    _CONFIG = DeliveryConfig.from_settings(settings)
    service.on_notified(plan_deliveries)


def config() -> DeliveryConfig:
    return _CONFIG


def set_config(cfg: DeliveryConfig) -> DeliveryConfig:
    """Replace the planning configuration; returns the previous one (tests restore it)."""
    global _CONFIG
    previous, _CONFIG = _CONFIG, cfg
    service.on_notified(plan_deliveries)
    return previous


# --- preferences -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    email_urgencies: tuple[str, ...]
    digest: str
    digest_hour: int

    def as_dict(self) -> dict[str, Any]:
        return {"email_urgencies": list(self.email_urgencies), "digest": self.digest, "digest_hour": self.digest_hour}


def defaults(cfg: DeliveryConfig | None = None) -> Preferences:
    return Preferences(("urgent", "immediate"), "daily", (cfg or _CONFIG).digest_hour)


def _from_row(row: NotificationPreference | None, cfg: DeliveryConfig) -> Preferences:
    if row is None:
        return defaults(cfg)
    urgencies = tuple(u for u in URGENCIES if u in (row.email_urgencies or []))
    return Preferences(urgencies, row.digest, row.digest_hour)


def preferences(session: Session, user_id: uuid.UUID) -> Preferences:
    return _from_row(session.get(NotificationPreference, user_id), _CONFIG)


def update_preferences(
    session: Session, user_id: uuid.UUID, *, email_urgencies: list[str], digest: str, digest_hour: int, now: datetime
) -> Preferences:
    """Validate and store a user's preferences; nothing is written when a value is wrong."""
    errors: list[FieldError] = []
    for i, u in enumerate(email_urgencies):
        if u not in URGENCIES:
            errors.append(
                FieldError(("email_urgencies", i), N_("must be one of %(urgencies)s", urgencies=", ".join(URGENCIES)))
            )
    if digest not in DIGEST_MODES:
        errors.append(
            FieldError(("digest",), N_("must be one of %(digest_modes)s", digest_modes=", ".join(DIGEST_MODES)))
        )
    if not 0 <= digest_hour <= 23:
        errors.append(FieldError(("digest_hour",), N_("must be an hour from 0 to 23 (UTC)")))
    if errors:
        raise InvalidInput(errors)
    row = session.get(NotificationPreference, user_id)
    if row is None:
        row = NotificationPreference(user_id=user_id)
        session.add(row)
    row.email_urgencies = [u for u in URGENCIES if u in set(email_urgencies)]
    row.digest = digest
    row.digest_hour = digest_hour
    row.updated_at = now
    session.flush()
    return _from_row(row, _CONFIG)


# --- planning --------------------------------------------------------------------------------------


def next_digest_at(now: datetime, hour: int) -> datetime:
    """The next ``hour``:00 UTC strictly after ``now``."""
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def _open_batches(session: Session, user_ids: set[uuid.UUID]) -> dict[tuple[uuid.UUID, str], NotificationDelivery]:
    """Each user's oldest digest or summary e-mail still collecting items (not tried yet), by (user, kind)."""
    found: dict[tuple[uuid.UUID, str], NotificationDelivery] = {}
    if not user_ids:
        return found
    for row in session.scalars(
        select(NotificationDelivery)
        .where(
            NotificationDelivery.user_id.in_(user_ids),
            NotificationDelivery.channel == "email",
            NotificationDelivery.kind.in_(("digest", "summary")),
            NotificationDelivery.status == "pending",
            NotificationDelivery.attempts == 0,
        )
        .order_by(NotificationDelivery.created_at)
    ):
        found.setdefault((row.user_id, row.kind), row)
    return found


def immediate_emails_since(session: Session, user_ids: set[uuid.UUID], since: datetime) -> dict[uuid.UUID, int]:
    """E-mails of each user planned to go at once since ``since`` (items and summaries, not held items)."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(NotificationDelivery.user_id, func.count())
        .where(
            NotificationDelivery.user_id.in_(user_ids),
            NotificationDelivery.channel == "email",
            NotificationDelivery.created_at >= since,
            NotificationDelivery.kind.in_(("notification", "summary")),
            NotificationDelivery.batch_id.is_(None),
        )
        .group_by(NotificationDelivery.user_id)
    )
    return {user_id: int(count) for user_id, count in rows}


def plan_deliveries(session: Session, created: list[Notification]) -> None:
    """The ``on_notified`` hook: plan each notification's e-mail and webhook messages in its transaction (a few
    statements for all of them, whatever their number)."""
    if not created:
        return
    cfg = _CONFIG
    user_ids = {n.user_id for n in created}
    emails: dict[uuid.UUID, str] = {}
    prefs: dict[uuid.UUID, Preferences] = {}
    if cfg.email_enabled:
        emails = {
            user_id: address
            for user_id, address in session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
            if address
        }
        rows_found = session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(emails))
        ).all()
        prefs = {p.user_id: _from_row(p, cfg) for p in rows_found}
    endpoints: dict[uuid.UUID, list[WebhookEndpoint]] = {}
    for ep in session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.user_id.in_(user_ids), WebhookEndpoint.active.is_(True))
    ):
        endpoints.setdefault(ep.user_id, []).append(ep)

    # The hourly budget of each user who gets an e-mail at once, counted from their first notification's time.
    since: dict[uuid.UUID, datetime] = {}
    for n in created:
        if n.user_id in emails and n.urgency in prefs.get(n.user_id, defaults(cfg)).email_urgencies:
            since.setdefault(n.user_id, n.updated_at - timedelta(hours=1))
    budget: dict[uuid.UUID, int] = {}
    for at in set(since.values()):
        users_at = {u for u, t in since.items() if t == at}
        used = immediate_emails_since(session, users_at, at)
        budget.update({u: cfg.email_max_per_hour - used.get(u, 0) for u in users_at})
    batches = _open_batches(session, set(emails))

    def batch(user_id: uuid.UUID, kind: str, at: datetime) -> NotificationDelivery:
        key = (user_id, kind)
        if key not in batches:
            found = NotificationDelivery(
                id=new_id(),
                channel="email",
                kind=kind,
                user_id=user_id,
                status="pending",
                attempts=0,
                next_attempt_at=at,
                created_at=min(n.updated_at for n in created),
            )
            session.add(found)  # written with the items below, before them (the unit of work keeps the order)
            batches[key] = found
        return batches[key]

    rows: list[NotificationDelivery] = []
    for n in created:
        now = n.updated_at  # when it was created, or folded in an event that made it more urgent
        if n.user_id in emails:
            pref = prefs.get(n.user_id, defaults(cfg))
            if n.urgency in pref.email_urgencies:
                if budget[n.user_id] > 0:
                    budget[n.user_id] -= 1
                    rows.append(_row("email", n, next_attempt_at=now))
                else:
                    summary = batch(n.user_id, "summary", now + timedelta(minutes=cfg.summary_minutes))
                    rows.append(_row("email", n, status="held", batch_id=summary.id))
            elif pref.digest == "daily":
                digest = batch(n.user_id, "digest", next_digest_at(now, pref.digest_hour))
                rows.append(_row("email", n, status="held", batch_id=digest.id))
        for ep in endpoints.get(n.user_id, []):
            if ep.kinds and n.kind not in ep.kinds:
                continue
            rows.append(_row("webhook", n, next_attempt_at=now, endpoint_id=ep.id))
    session.add_all(rows)
    session.flush()


def _row(
    channel: str,
    n: Notification,
    *,
    status: str = "pending",
    next_attempt_at: datetime | None = None,
    endpoint_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
) -> NotificationDelivery:
    return NotificationDelivery(
        id=new_id(),
        channel=channel,
        kind="notification",
        user_id=n.user_id,
        notification_id=n.id,
        endpoint_id=endpoint_id,
        batch_id=batch_id,
        status=status,
        attempts=0,
        next_attempt_at=next_attempt_at,
        created_at=n.updated_at,
    )
