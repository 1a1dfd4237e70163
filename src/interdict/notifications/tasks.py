"""The delivery dispatcher: a thread of the server (and ``interdict notifications dispatch``) that sends what the
outbox (``notification_deliveries``) holds when it is due.

A batch is *claimed* in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several server processes
can dispatch side by side): each row's attempt is counted and its next attempt moved past a lease, and the claim is
committed before anything is sent. Each message is then rendered as its recipient, sent, and its outcome recorded.
If the process dies in between:

* a webhook message is still ``pending`` and is sent again when its lease ends (at least once; the receiver
  recognises the repeat by its ``webhook-id``);
* an e-mail is ``sending``: whether the SMTP server took it is unknown, so it is not sent again (at most once) and
  is marked ``dead`` with that reason, for administrators to see.

Failures are retried with exponential backoff (5 s, 10 s, 20 s, ... up to ``delivery_max_backoff_seconds``), so a
receiver that was down for an hour gets everything within minutes of its return; a message still failing
``delivery_give_up_hours`` after it was planned is given up (``dead``). Every function takes ``now``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from interdict.accounts.models import User
from interdict.accounts.subject import Subject
from interdict.config import Settings
from interdict.core import worker
from interdict.core.clock import utcnow
from interdict.core.db import unit_of_work
from interdict.core.egress import Network
from interdict.notifications import email, webhooks
from interdict.notifications.models import Notification, NotificationDelivery, WebhookEndpoint
from interdict.notifications.service import Rendered, recipient, record_shown, render_many

log = logging.getLogger("interdict.notifications")

BASE_BACKOFF_SECONDS = 5.0


@dataclass(frozen=True)
class DispatchConfig:
    smtp: email.SmtpConfig | None
    public_url: str
    webhook_timeout: float
    max_backoff: float
    give_up: timedelta
    # Networks webhooks may reach although they are not public (INTERDICT_WEBHOOK_ALLOWED_NETWORKS).
    webhook_allowed: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, s: Settings) -> DispatchConfig:
        return cls(
            smtp=email.SmtpConfig.from_settings(s),
            public_url=s.public_url.rstrip("/"),
            webhook_timeout=s.webhook_timeout_seconds,
            max_backoff=s.delivery_max_backoff_seconds,
            give_up=timedelta(hours=s.delivery_give_up_hours),
            webhook_allowed=s.webhook_networks,
        )

    def lease(self, position: int) -> timedelta:
        """How long the ``position``-th message of a claimed batch is left alone: the batch is sent one message
        after another, so this covers that many sends (each bounded by its timeouts) and a margin."""
        smtp_timeout = self.smtp.timeout if self.smtp else 0.0
        return timedelta(seconds=5 + 2 * max(self.webhook_timeout, smtp_timeout) * position)


def backoff(attempts: int, cap: float) -> timedelta:
    return timedelta(seconds=min(cap, BASE_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)))


# --- claiming ----------------------------------------------------------------------------------------


def _claim(session: Session, cfg: DispatchConfig, *, now: datetime, limit: int) -> list[NotificationDelivery]:
    stmt = (
        select(NotificationDelivery)
        .where(NotificationDelivery.status == "pending", NotificationDelivery.next_attempt_at <= now)
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    for position, row in enumerate(rows, start=1):
        row.attempts += 1
        row.next_attempt_at = now + cfg.lease(position)
        if row.channel == "email":
            row.status = "sending"
    session.flush()
    return rows


def recover_unknown(session: Session, cfg: DispatchConfig, *, now: datetime) -> int:
    """E-mails left ``sending`` by a process that died: their outcome is unknown, so they are not sent again."""
    result = session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.status == "sending", NotificationDelivery.next_attempt_at <= now)
        .values(status="dead", last_error="outcome unknown: the sender stopped while handing the e-mail over")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- sending -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # sent | withheld | retry | dead
    error: str | None = None
    unreachable: bool = False


def _renderable(
    session: Session, user_id: Any, notifications: list[Notification]
) -> tuple[Subject | None, list[tuple[Notification, Rendered]]]:
    subject = recipient(session, user_id)
    if subject is None:
        return None, []
    shown = render_many(session, [(subject, n) for n in notifications])
    return subject, [(n, rendered) for n, rendered in zip(notifications, shown, strict=True) if rendered is not None]


def _send_email(session: Session, cfg: DispatchConfig, row: NotificationDelivery) -> Outcome:
    if cfg.smtp is None:
        return Outcome("withheld", "e-mail is not configured (INTERDICT_SMTP_HOST)")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or not user.email:
        return Outcome("withheld", "the recipient has no active account or e-mail address")
    shown: list[tuple[Notification, Rendered]] = []  # what the mail shows beyond titles and links (digests: none)
    if row.kind == "notification":
        note = session.get(Notification, row.notification_id) if row.notification_id is not None else None
        reader, items = _renderable(session, row.user_id, [note] if note else [])
        if reader is None or not items:
            return Outcome("withheld", "the recipient may not read the record")
        msg = email.notification_message(
            cfg.smtp, to=user.email, locale=user.locale, notification=items[0][0], rendered=items[0][1]
        )
        if cfg.smtp.mode == "full":  # the text and facts are in the mail (metadata mode carries no content)
            shown = items
    else:  # digest or summary: the items held for it
        held = list(
            session.scalars(
                select(Notification)
                .join(NotificationDelivery, NotificationDelivery.notification_id == Notification.id)
                .where(NotificationDelivery.batch_id == row.id)
                .order_by(Notification.id)
            )
        )
        reader, items = _renderable(session, row.user_id, held)
        if reader is None or not items:
            return Outcome("withheld", "nothing left that the recipient may read")
        msg = email.list_message(cfg.smtp, to=user.email, locale=user.locale, kind=row.kind, items=items)
    try:
        email.send(cfg.smtp, msg)
    except email.SmtpFailure as exc:
        return Outcome("retry", str(exc), unreachable=exc.unreachable)
    record_shown(session, reader, shown, where="an e-mail")  # committed with the outcome
    return Outcome("sent")


def _send_webhook(
    session: Session, cfg: DispatchConfig, sender: webhooks.Sender, row: NotificationDelivery, now: datetime
) -> Outcome:
    endpoint = session.get(WebhookEndpoint, row.endpoint_id) if row.endpoint_id is not None else None
    if endpoint is None or not endpoint.active:
        return Outcome("withheld", "endpoint disabled")
    note: Notification | None = None
    rendered: Rendered | None = None
    reader: Subject | None = None
    if row.kind != "test":
        note = session.get(Notification, row.notification_id) if row.notification_id is not None else None
        reader, items = _renderable(session, endpoint.user_id, [note] if note else [])
        if reader is None or not items:
            return Outcome("withheld", "the endpoint's owner may not read the record")
        note, rendered = items[0]
    body = webhooks.payload(row, note, rendered, public_url=cfg.public_url, now=now)
    result = sender.post(endpoint.url, endpoint.secret, str(row.id), body)
    if result.ok:
        if reader is not None and note is not None and rendered is not None:
            # The text went to the owner's receiver; audited as the owner's read, on each successful post.
            record_shown(session, reader, [(note, rendered)], where=f"webhook endpoint {endpoint.name}")
        return Outcome("sent")
    return Outcome("retry", result.error, unreachable=result.unreachable)


def _record(session: Session, cfg: DispatchConfig, row: NotificationDelivery, outcome: Outcome, now: datetime) -> None:
    row.last_error = outcome.error
    if outcome.status in ("sent", "withheld"):
        row.status = outcome.status
        row.next_attempt_at = None
        if outcome.status == "sent":
            row.sent_at = now
            row.last_error = None
        if row.kind in ("digest", "summary"):
            session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.batch_id == row.id, NotificationDelivery.status == "held")
                .values(status=outcome.status, sent_at=row.sent_at)
                .execution_options(synchronize_session=False)
            )
        return
    if now - row.created_at >= cfg.give_up:
        row.status = "dead"
        row.next_attempt_at = None
        return
    row.status = "pending"
    row.next_attempt_at = now + backoff(row.attempts, cfg.max_backoff)


def dispatch_due(factory: sessionmaker[Session], cfg: DispatchConfig, *, now: datetime, limit: int = 100) -> int:
    """Claim and send the messages due at ``now``; returns how many were claimed."""
    with unit_of_work(factory) as session:
        recover_unknown(session, cfg, now=now)
        claimed = {row.id: row.attempts for row in _claim(session, cfg, now=now, limit=limit)}
    if not claimed:
        return 0
    unreachable: dict[Any, str] = {}  # endpoint (or "smtp") -> error: the rest of the batch waits for it
    with webhooks.Sender(timeout=cfg.webhook_timeout, allowed=cfg.webhook_allowed) as sender:
        for delivery_id, attempt in claimed.items():
            with unit_of_work(factory) as session:
                row = session.get(NotificationDelivery, delivery_id, with_for_update=True)
                if row is None or row.attempts != attempt or row.status not in ("pending", "sending"):
                    continue  # no longer ours (disabled meanwhile, or taken over after a lease ran out)
                key = row.endpoint_id if row.channel == "webhook" else "smtp"
                if key in unreachable:
                    outcome = Outcome("retry", unreachable[key])
                elif row.channel == "email":
                    outcome = _send_email(session, cfg, row)
                else:
                    outcome = _send_webhook(session, cfg, sender, row, now)
                if outcome.unreachable and outcome.error:
                    unreachable[key] = outcome.error
                _record(session, cfg, row, outcome, now)
    return len(claimed)


def drain(factory: sessionmaker[Session], cfg: DispatchConfig, *, now: datetime, limit: int = 100) -> int:
    """Dispatch until nothing is due at ``now`` (a retried message is due again only later)."""
    total = 0
    while (n := dispatch_due(factory, cfg, now=now, limit=limit)) > 0:
        total += n
    return total


def make_worker(factory: sessionmaker[Session], cfg: DispatchConfig, *, interval: float = 1.0) -> worker.Worker:
    """The server's dispatcher thread (INTERDICT_DELIVERY_WORKER): it manages its own transactions (the claim
    is committed before anything is sent)."""
    return worker.Worker(
        "delivery", None, lambda: dispatch_due(factory, cfg, now=utcnow()), interval=interval, batch=100
    )
