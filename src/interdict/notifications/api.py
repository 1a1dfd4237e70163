"""REST API of notifications: the user's notifications (paged, mark read, live stream), preferences, webhook
endpoints and, for administrators, deliveries that were given up."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from interdict.accounts.deps import AdminDep, SubjectDep, WriterDep
from interdict.accounts.models import Organisation, User
from interdict.accounts.subject import Subject
from interdict.audit import service as audit
from interdict.core.clock import utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import FieldError, InvalidInput, NotAcceptable
from interdict.core.i18n import N_
from interdict.notifications import delivery, service, webhooks
from interdict.notifications.models import DELIVERY_STATUSES, NotificationDelivery
from interdict.notifications.schemas import (
    DeliveryOut,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    MarkRead,
    NotificationPage,
    PreferencesIn,
    PreferencesOut,
)
from interdict.notifications.stream import Broadcaster, item, parse_last_event_id
from interdict.sharing.service import own_account, require_admin

router = APIRouter(prefix="/api/v1", tags=["notifications"])


def stream_response(request: Request, subject: Subject) -> Response:
    """The Server-Sent Events answer for a subject already authenticated (and decided on: own notifications)."""
    if "text/event-stream" not in request.headers.get("accept", ""):
        raise NotAcceptable(N_("this is a Server-Sent Events stream: send 'Accept: text/event-stream'"))
    broadcaster: Broadcaster = request.app.state.broadcaster
    last = parse_last_event_id(request.headers.get("last-event-id") or request.query_params.get("last_event_id"))
    return StreamingResponse(
        broadcaster.events(subject, last),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/notifications", response_model=NotificationPage)
def list_notifications(
    db: SessionDep,
    subject: SubjectDep,
    unread_only: bool = False,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    """Your notifications, newest first, each as you may read its record now (page with ``before_id``). Person
    data they show (a watched person as written in an incident) is audited as a read of that record's persons."""
    own_account(subject)
    rows = service.visible(db, subject, unread_only=unread_only, before_id=before_id, limit=limit)
    service.record_shown(db, subject, rows, where="the notification list")
    return NotificationPage(
        items=[item(n, r, subject.locale) for n, r in rows],
        next_before_id=rows[-1][0].id if len(rows) == limit else None,
    )


@router.post("/notifications/read")
def mark_read(body: MarkRead, db: SessionDep, subject: SubjectDep) -> dict[str, int]:
    """Mark some (``ids``) or all (``all: true``) of your notifications read. ``unread`` is what is left unread,
    counted up to 100 (100 means "100 or more")."""
    own_account(subject)
    if not body.all and not body.ids:
        raise InvalidInput(FieldError(("ids",), N_("give the notification ids, or all: true")))
    marked = service.mark_read(db, subject, None if body.all else body.ids)
    return {"marked": marked, "unread": service.unread_count(db, subject)}


@router.post("/notifications/{notification_id}/acknowledge")
def acknowledge(
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)], db: SessionDep, subject: SubjectDep
) -> dict[str, object]:
    """Acknowledge one of your notifications (alerts about an incident: its reporting unit sees that you did)."""
    own_account(subject)
    row = service.acknowledge(db, subject, notification_id)
    audit.record(
        db,
        subject,
        "notification.acknowledge",
        object_type=row.ref_type,
        object_id=row.ref_id,
        summary=f"acknowledged notification {row.id} ({row.kind})",
    )
    return {"id": row.id, "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None}


@router.get("/notifications/stream", response_class=StreamingResponse)
def stream(request: Request, subject: SubjectDep) -> Response:
    """Server-Sent Events: ``unread`` (the count) on connecting, then one ``notification`` event per new
    notification (its id is the event id: reconnect with ``Last-Event-ID`` to resume without loss)."""
    own_account(subject)
    return stream_response(request, subject)


@router.get("/notifications/preferences", response_model=PreferencesOut)
def get_preferences(db: SessionDep, subject: SubjectDep, settings: SettingsDep) -> PreferencesOut:
    own_account(subject)
    prefs = delivery.preferences(db, subject.user_id)
    return PreferencesOut(**prefs.as_dict(), email_enabled=settings.email_enabled)


@router.put("/notifications/preferences", response_model=PreferencesOut)
def put_preferences(body: PreferencesIn, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> PreferencesOut:
    own_account(subject)
    prefs = delivery.update_preferences(
        db,
        subject.user_id,
        email_urgencies=body.email_urgencies,
        digest=body.digest,
        digest_hour=body.digest_hour,
        now=utcnow(),
    )
    audit.record(
        db,
        subject,
        "notification_preferences.update",
        object_type="user",
        object_id=subject.user_id,
        after=prefs.as_dict(),
    )
    return PreferencesOut(**prefs.as_dict(), email_enabled=settings.email_enabled)


@router.get("/webhooks", response_model=list[EndpointOut])
def list_webhooks(db: SessionDep, subject: SubjectDep) -> list[EndpointOut]:
    own_account(subject)
    return [EndpointOut.model_validate(e) for e in webhooks.list_endpoints(db, subject)]


@router.post("/webhooks", response_model=EndpointCreated, status_code=201)
def create_webhook(body: EndpointIn, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> EndpointCreated:
    """Administrators: a new endpoint for your notifications; the answer holds its signing secret, shown this once.
    The URL's host must resolve to public addresses only, or to a network the operator allowed."""
    own_account(subject)
    endpoint, secret = webhooks.create_endpoint(
        db,
        subject,
        name=body.name,
        url=body.url,
        kinds=body.kinds,
        now=utcnow(),
        allowed=settings.webhook_networks,
    )
    audit_endpoint(
        db, subject, "webhook.create", endpoint.id, endpoint.name, {"url": endpoint.url, "kinds": endpoint.kinds}
    )
    return EndpointCreated(**EndpointOut.model_validate(endpoint).model_dump(), secret=secret)


def audit_endpoint(
    db: SessionDep, subject: Subject, action: str, endpoint_id: uuid.UUID, name: str, after: dict[str, object]
) -> None:
    audit.record(
        db, subject, action, object_type="webhook_endpoint", object_id=endpoint_id, object_label=name, after=after
    )


@router.post("/webhooks/{endpoint_id}/disable", response_model=EndpointOut)
def disable_webhook(endpoint_id: uuid.UUID, db: SessionDep, subject: WriterDep) -> EndpointOut:
    own_account(subject)
    endpoint = webhooks.set_active(db, subject, endpoint_id, False, now=utcnow())
    audit_endpoint(db, subject, "webhook.disable", endpoint.id, endpoint.name, {"active": False})
    return EndpointOut.model_validate(endpoint)


@router.post("/webhooks/{endpoint_id}/enable", response_model=EndpointOut)
def enable_webhook(endpoint_id: uuid.UUID, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> EndpointOut:
    """Administrators: enable your endpoint again (its URL is checked again, as at registration)."""
    own_account(subject)
    endpoint = webhooks.set_active(db, subject, endpoint_id, True, now=utcnow(), allowed=settings.webhook_networks)
    audit_endpoint(db, subject, "webhook.enable", endpoint.id, endpoint.name, {"active": True})
    return EndpointOut.model_validate(endpoint)


@router.post("/webhooks/{endpoint_id}/test", response_model=DeliveryOut, status_code=202)
def test_webhook(endpoint_id: uuid.UUID, db: SessionDep, subject: WriterDep) -> DeliveryOut:
    """Queue a signed test event (type ``interdict.test``) to the endpoint; see its deliveries for the outcome."""
    own_account(subject)
    return DeliveryOut.model_validate(webhooks.plan_test(db, subject, endpoint_id, now=utcnow()))


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=list[DeliveryOut])
def webhook_deliveries(endpoint_id: uuid.UUID, db: SessionDep, subject: SubjectDep) -> list[DeliveryOut]:
    own_account(subject)
    return [DeliveryOut.model_validate(d) for d in webhooks.recent_deliveries(db, subject, endpoint_id)]


@router.get("/notification-deliveries", response_model=list[DeliveryOut])
def admin_deliveries(
    db: SessionDep,
    subject: AdminDep,
    status: Annotated[str, Query(max_length=10)] = "dead",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    """Administrators: deliveries of their agency's users by status (default: ``dead``, given up)."""
    require_admin(subject)
    if status not in DELIVERY_STATUSES:
        raise InvalidInput(
            FieldError(
                ("status",), N_("must be one of %(delivery_statuses)s", delivery_statuses=", ".join(DELIVERY_STATUSES))
            )
        )
    users = (
        select(User.id)
        .join(Organisation, Organisation.id == User.org_id)
        .where(Organisation.root_id == subject.root_org_id)
    )
    rows = db.scalars(
        select(NotificationDelivery)
        .where(NotificationDelivery.status == status, NotificationDelivery.user_id.in_(users))
        .order_by(NotificationDelivery.created_at.desc())
        .limit(limit)
    )
    return [DeliveryOut.model_validate(d) for d in rows]
