"""Web pages of notifications: the notification centre, its live stream (static/notifications.js keeps the bell and
the list up to date without reloading), and the user's delivery settings (preferences and webhook endpoints)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from interdict.audit import service as audit
from interdict.core.clock import utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import InvalidInput, NotFound
from interdict.core.i18n import N_
from interdict.notifications import delivery, service, webhooks
from interdict.notifications.api import audit_endpoint, stream_response
from interdict.notifications.models import URGENCIES
from interdict.sharing.service import own_account
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import errors_by_field
from interdict.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = 30


def _(message: str) -> str:
    """Marks ``message`` for extraction (scripts/i18n-update); the template translates it at render time."""
    return message


URGENCY_LABELS = {"routine": _("Routine"), "urgent": _("Urgent"), "immediate": _("Immediate")}
DELIVERY_STATUS_LABELS = {
    "pending": _("pending"),
    "sending": _("sending"),
    "held": _("held for a digest"),
    "sent": _("delivered"),
    "withheld": _("not sent"),
    "dead": _("given up"),
}


@router.get("/notifications")
def centre(
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    unread: bool = False,
) -> Response:
    own_account(subject)
    rows = service.visible(db, subject, unread_only=unread, before_id=before, limit=PAGE)
    service.record_shown(db, subject, rows, where="the notification centre")
    return render(
        request,
        "notifications/centre.html",
        {
            "rows": rows,
            "unread_only": unread,
            "unread_count": service.unread_count(db, subject),
            "unread_cap": service.UNREAD_COUNT_CAP,
            "next_before_given": before is not None,  # a later page: the live stream does not backfill it
            "next_before": rows[-1][0].id if len(rows) == PAGE else None,
            "urgency_labels": URGENCY_LABELS,
        },
    )


@router.post("/notifications/{notification_id}/acknowledge")
def acknowledge(
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)], db: SessionDep, subject: WebSubject, form: CheckedForm
) -> Response:
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
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/read")
def mark_read(db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    own_account(subject)
    one = form.get("id")
    if isinstance(one, str) and one.isdigit() and len(one) < 19:
        service.mark_read(db, subject, [int(one)])
    else:
        service.mark_read(db, subject)
    target = form.get("next")
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//"):
        return RedirectResponse(target, status_code=303)
    return RedirectResponse("/notifications", status_code=303)


@router.get("/notifications/stream")
def stream(request: Request, subject: WebSubject) -> Response:
    own_account(subject)
    return stream_response(request, subject)


def _settings_context(db: SessionDep, subject: WebSubject, settings: SettingsDep) -> dict[str, object]:
    return {
        "prefs": delivery.preferences(db, subject.user_id),
        "endpoints": webhooks.list_endpoints(db, subject),
        "email_enabled": settings.email_enabled,
        "email_mode": settings.email_mode,
        "urgencies": URGENCIES,
        "urgency_labels": URGENCY_LABELS,
        "errors": {},
        "webhook_errors": {},
        "webhook_values": {},
        "endpoint_errors": {},
        "new_secret": None,
        "saved": False,
    }


@router.get("/account/notifications")
def settings_page(request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep) -> Response:
    own_account(subject)
    return render(request, "notifications/settings.html", _settings_context(db, subject, settings))


@router.post("/account/notifications")
def save_preferences(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    own_account(subject)
    hour = str(form.get("digest_hour") or "")
    try:
        prefs = delivery.update_preferences(
            db,
            subject.user_id,
            email_urgencies=[u for u in form.getlist("email_urgencies") if isinstance(u, str)],
            digest=str(form.get("digest") or ""),
            digest_hour=int(hour) if hour.isdigit() else -1,
            now=utcnow(),
        )
    except InvalidInput as exc:
        ctx = _settings_context(db, subject, settings)
        return render(
            request, "notifications/settings.html", {**ctx, "errors": errors_by_field(exc.errors)}, status_code=422
        )
    audit.record(
        db,
        subject,
        "notification_preferences.update",
        object_type="user",
        object_id=subject.user_id,
        after=prefs.as_dict(),
    )
    return render(request, "notifications/settings.html", {**_settings_context(db, subject, settings), "saved": True})


@router.post("/account/webhooks")
def create_webhook(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    own_account(subject)
    values = {k: str(form.get(k) or "") for k in ("name", "url", "kinds")}
    kinds = [k for k in values["kinds"].replace(",", " ").split() if k]
    try:
        endpoint, secret = webhooks.create_endpoint(
            db,
            subject,
            name=values["name"],
            url=values["url"],
            kinds=kinds or None,
            now=utcnow(),
            allowed=settings.webhook_networks,
        )
    except InvalidInput as exc:
        ctx = _settings_context(db, subject, settings)
        return render(
            request,
            "notifications/settings.html",
            {**ctx, "webhook_errors": errors_by_field(exc.errors), "webhook_values": values},
            status_code=422,
        )
    audit_endpoint(
        db, subject, "webhook.create", endpoint.id, endpoint.name, {"url": endpoint.url, "kinds": endpoint.kinds}
    )
    return render(
        request, "notifications/settings.html", {**_settings_context(db, subject, settings), "new_secret": secret}
    )


@router.post("/account/webhooks/{endpoint_id}/{action}")
def webhook_action(
    endpoint_id: uuid.UUID,
    action: str,
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    own_account(subject)
    if action == "test":
        webhooks.plan_test(db, subject, endpoint_id, now=utcnow())
        return RedirectResponse(f"/account/webhooks/{endpoint_id}?flash=test", status_code=303)
    if action not in ("disable", "enable"):
        raise NotFound(N_("no such action"))
    try:
        endpoint = webhooks.set_active(
            db, subject, endpoint_id, action == "enable", now=utcnow(), allowed=settings.webhook_networks
        )
    except InvalidInput as exc:  # enabling an endpoint whose address may no longer be reached
        ctx = _settings_context(db, subject, settings)
        return render(
            request,
            "notifications/settings.html",
            {**ctx, "endpoint_errors": {str(endpoint_id): [e.msg for e in exc.errors]}},
            status_code=422,
        )
    audit_endpoint(db, subject, f"webhook.{action}", endpoint.id, endpoint.name, {"active": endpoint.active})
    return RedirectResponse("/account/notifications", status_code=303)


@router.get("/account/webhooks/{endpoint_id}")
def webhook_page(endpoint_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    own_account(subject)
    endpoint = webhooks.own_endpoint(db, subject, endpoint_id)
    return render(
        request,
        "notifications/webhook.html",
        {
            "endpoint": endpoint,
            "deliveries": webhooks.recent_deliveries(db, subject, endpoint_id),
            "status_labels": DELIVERY_STATUS_LABELS,
        },
    )
