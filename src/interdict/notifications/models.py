from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from interdict.core.clock import utcnow
from interdict.core.db import Base, UTCDateTime, new_id

URGENCIES = ("routine", "urgent", "immediate")


class Notification(Base):
    """One thing one user is told about one record (an incident, a rapid alert, a warning notice).

    Only a reference is stored, never the content: the title and text are rendered when the user reads
    or is sent the notification, as that user, through the record's own access rules. A record the user
    may no longer read (narrowed, unshared) disappears from the notification centre at once. ``event_key``
    is unique per user, so producing the same event twice (a repeated outbox batch after a crash) never
    tells the same user twice. The integer id orders the live stream (Server-Sent Events' Last-Event-ID).

    Kinds whose events repeat (another match of the same records, another response to the same alert; see
    ``notifications.kinds``) fold into one row per ``event_key``: each genuinely new event adds one to ``count``,
    merges its reason, sets ``updated_at`` and makes the row unread again; the row keeps its id.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_key", name="uq_notifications_user_event"),
        Index("ix_notifications_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    ref_type: Mapped[str] = mapped_column(String(30))
    ref_id: Mapped[uuid.UUID]
    event_key: Mapped[str] = mapped_column(String(200))
    urgency: Mapped[str] = mapped_column(String(10), default="routine")
    # Why the user is told, in terms of the user's own things only (the rule or watch list that fired).
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How many events this row stands for (1 unless its kind folds repeated events), and when the last one came.
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The recipient acknowledged it (alerts about incidents: the reporting unit sees who acknowledged, when).
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


DELIVERY_CHANNELS = ("email", "webhook")
# pending: to be sent at next_attempt_at; sending: an e-mail handed to the SMTP server, outcome not yet recorded;
# held: a routine item or a throttled one waiting for its digest / summary message (batch_id);
# sent; withheld: not sent because the recipient may no longer read the record (or nothing was left to say);
# dead: given up (retries exhausted, or an e-mail whose outcome is unknown after a crash: never sent twice).
DELIVERY_STATUSES = ("pending", "sending", "held", "sent", "withheld", "dead")
# notification: one notification; digest: the routine items of a day; summary: "N more notifications" after
# the hourly e-mail budget is spent; test: a webhook endpoint's test event.
DELIVERY_KINDS = ("notification", "digest", "summary", "test")
DIGEST_MODES = ("daily", "off")


class WebhookEndpoint(Base):
    """An agency system that receives its owner's notifications, signed per the Standard Webhooks specification.

    Payloads are rendered as the owner, so an endpoint never receives what its owner could not read. The signing
    secret (``whsec_...``) is shown once when the endpoint is created and kept here to sign every message."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    # Only these notification kinds (None: every kind).
    kinds: Mapped[list[str] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationDelivery(Base):
    """The durable delivery outbox: one row per message to send by e-mail or webhook, planned in the same
    transaction as the notification (so a crash loses none) and sent by the dispatcher. The id is the
    idempotency key (the webhook-id header, the same on every attempt)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_notification_deliveries_user_channel_created", "user_id", "channel", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(15), default="notification")
    # The recipient (e-mail) or the endpoint's owner (webhook): content is rendered as this user.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    notification_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("notifications.id", ondelete="CASCADE"),
        index=True,
    )
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    # A held item's digest or summary delivery.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notification_deliveries.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(Base):
    """How a user wants to be told beyond the notification centre (absent row: the defaults)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # Urgencies sent by e-mail at once (subject to the hourly limit).
    email_urgencies: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["urgent", "immediate"])
    # Items not sent at once (routine ones, by default) go into a daily digest at digest_hour (UTC), or nowhere.
    digest: Mapped[str] = mapped_column(String(10), default="daily")
    digest_hour: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
