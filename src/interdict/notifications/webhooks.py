"""Webhooks for agencies' own systems, signed per the Standard Webhooks specification (``standardwebhooks``).

Each endpoint belongs to a user and receives that user's notifications, rendered as that user: an endpoint never
receives what its owner could not read. Every message carries ``webhook-id`` (the delivery id, the same on every
attempt: the receiver's idempotency key), ``webhook-timestamp`` and ``webhook-signature``. A 2xx answer is a
delivery; anything else, a connection error or a timeout is retried with backoff by the dispatcher.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from interdict.accounts.subject import Subject
from interdict.core.clock import utcnow
from interdict.core.db import new_id
from interdict.core.errors import FieldError, InvalidInput, NotFound
from interdict.notifications.models import Notification, NotificationDelivery, WebhookEndpoint
from interdict.notifications.service import Rendered

MAX_KINDS = 20


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidInput(FieldError(("url",), "is not a valid URL")) from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(FieldError(("url",), "must start with http:// or https://"))
    if not parts.hostname:
        raise InvalidInput(FieldError(("url",), "must name a host, e.g. https://alerts.example.gov/interdict"))
    if parts.username or parts.password:
        raise InvalidInput(FieldError(("url",), "must not contain a user name or password"))
    if len(url) > 2000:
        raise InvalidInput(FieldError(("url",), "must be at most 2000 characters"))
    return url


def create_endpoint(
    session: Session, subject: Subject, *, name: str, url: str, kinds: list[str] | None, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the subject; returns it and its signing secret (to show once)."""
    errors: list[FieldError] = []
    name = name.strip()
    if not name or len(name) > 100:
        errors.append(FieldError(("name",), "give a name of 1 to 100 characters"))
    try:
        url = check_url(url)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    clean_kinds = sorted({k.strip() for k in kinds or [] if k.strip()})
    if len(clean_kinds) > MAX_KINDS or any(len(k) > 40 for k in clean_kinds):
        errors.append(FieldError(("kinds",), f"at most {MAX_KINDS} kinds of at most 40 characters"))
    if errors:
        raise InvalidInput(errors)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id(),
        user_id=subject.user_id,
        name=name,
        url=url,
        secret=secret,
        kinds=clean_kinds or None,
        active=True,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def own_endpoint(session: Session, subject: Subject, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.user_id != subject.user_id:
        raise NotFound("no such webhook endpoint")
    return endpoint


def list_endpoints(session: Session, subject: Subject) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.user_id == subject.user_id)
            .order_by(WebhookEndpoint.active.desc(), WebhookEndpoint.created_at.desc())
        )
    )


def set_active(
    session: Session, subject: Subject, endpoint_id: uuid.UUID, active: bool, *, now: datetime
) -> WebhookEndpoint:
    """Disable (pending messages to it are dropped) or re-enable an endpoint."""
    endpoint = own_endpoint(session, subject, endpoint_id)
    endpoint.active = active
    endpoint.disabled_at = None if active else now
    if not active:
        for row in session.scalars(
            select(NotificationDelivery).where(
                NotificationDelivery.endpoint_id == endpoint.id, NotificationDelivery.status == "pending"
            )
        ):
            row.status = "withheld"
            row.last_error = "endpoint disabled"
    session.flush()
    return endpoint


def plan_test(session: Session, subject: Subject, endpoint_id: uuid.UUID, *, now: datetime) -> NotificationDelivery:
    """Queue a test event for the endpoint (sent by the dispatcher like any other message)."""
    endpoint = own_endpoint(session, subject, endpoint_id)
    if not endpoint.active:
        raise InvalidInput(FieldError(("endpoint",), "the endpoint is disabled; enable it first"))
    row = NotificationDelivery(
        id=new_id(),
        channel="webhook",
        kind="test",
        user_id=subject.user_id,
        endpoint_id=endpoint.id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def recent_deliveries(
    session: Session, subject: Subject, endpoint_id: uuid.UUID, *, limit: int = 50
) -> list[NotificationDelivery]:
    endpoint = own_endpoint(session, subject, endpoint_id)
    return list(
        session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.endpoint_id == endpoint.id)
            .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
            .limit(limit)
        )
    )


# --- messages ----------------------------------------------------------------------------------------


def payload(
    delivery: NotificationDelivery,
    notification: Notification | None,
    rendered: Rendered | None,
    *,
    public_url: str,
    now: datetime,
) -> dict[str, Any]:
    base = public_url.rstrip("/")
    if delivery.kind == "test" or notification is None or rendered is None:
        return {
            "type": "interdict.test",
            "timestamp": now.isoformat(),
            "data": {"message": "test event from Interdict", "endpoint_id": str(delivery.endpoint_id)},
        }
    url = rendered.url if rendered.url.startswith(("http://", "https://")) else f"{base}{rendered.url}"
    return {
        "type": "notification.created",
        "timestamp": now.isoformat(),
        "data": {
            "notification_id": notification.id,
            "kind": notification.kind,
            "urgency": notification.urgency,
            "ref_type": notification.ref_type,
            "ref_id": str(notification.ref_id),
            "title": rendered.title,
            "text": rendered.text,
            "url": url,
            "created_at": notification.created_at.isoformat(),
        },
    }


@dataclass(frozen=True)
class PostResult:
    ok: bool
    error: str | None = None
    # A connection-level failure (the receiver is unreachable): the rest of its queue waits for the next attempt.
    unreachable: bool = False


def post(client: httpx.Client, url: str, secret: str, msg_id: str, body: dict[str, Any]) -> PostResult:
    """Sign and POST one message. The signature's timestamp is the real time of sending (receivers reject old
    ones), whatever clock the dispatcher was given for scheduling."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    sent_at = utcnow()
    signature = Webhook(secret).sign(msg_id, sent_at, data)
    headers = {
        "content-type": "application/json",
        "user-agent": "Interdict-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    try:
        response = client.post(url, content=data.encode(), headers=headers)
    except httpx.TimeoutException as exc:
        return PostResult(False, f"timed out: {type(exc).__name__}", unreachable=True)
    except httpx.HTTPError as exc:
        return PostResult(False, f"connection failed: {type(exc).__name__}: {exc}"[:480], unreachable=True)
    if 200 <= response.status_code < 300:
        return PostResult(True)
    return PostResult(False, f"HTTP {response.status_code}")
