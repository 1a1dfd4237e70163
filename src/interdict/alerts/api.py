"""REST API for rapid alerts: /api/v1/alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from interdict.accounts.deps import SubjectDep, WriterDep
from interdict.alerts import service as svc
from interdict.alerts.models import RapidAlert
from interdict.alerts.present import to_read, to_summaries
from interdict.alerts.schemas import AlertCreate, AlertRead, AlertSummary, CloseRequest, ResponseCreate, ResponseRead
from interdict.core.clock import utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.pagination import MAX_PAGE, Page, PageParams

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

Urgency = Literal["routine", "urgent", "immediate"]
Status = Literal["issued", "closed", "cancelled"]


def _read(db: SessionDep, subject: SubjectDep, settings: SettingsDep, alert: RapidAlert) -> AlertRead:
    return to_read(db, subject, alert, delays=svc.Delays.from_settings(settings), now=utcnow())


@router.post("", response_model=AlertRead, status_code=201)
def issue_alert(body: AlertCreate, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> AlertRead:
    """Issue a rapid alert: its addressed units' users are told at once (with the alert's urgency)."""
    alert = svc.issue_alert(db, subject, body)
    return _read(db, subject, settings, alert)


@router.get("", response_model=Page[AlertSummary])
def list_alerts(
    db: SessionDep,
    subject: SubjectDep,
    urgency: Annotated[list[Urgency] | None, Query()] = None,
    status: Annotated[list[Status] | None, Query()] = None,
    addressed_to_me: Annotated[bool, Query(description="Alerts addressed to your unit.")] = False,
    issued_by_me: Annotated[bool, Query(description="Alerts your unit issued.")] = False,
    unacknowledged: Annotated[bool, Query(description="Open alerts your unit has not acknowledged.")] = False,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> Page[AlertSummary]:
    """The alerts you can read, newest first."""
    filters = svc.Filters(
        urgency=list(urgency) if urgency else None,
        status=list(status) if status else None,
        addressed_to_me=addressed_to_me,
        issued_by_me=issued_by_me,
        unacknowledged=unacknowledged,
    )
    items, total = svc.list_alerts(db, subject, filters, PageParams(page=page, page_size=page_size))
    return Page[AlertSummary](items=to_summaries(db, subject, items), total=total, page=page, page_size=page_size)


@router.get("/{alert_id}", response_model=AlertRead)
def get_alert(alert_id: str, db: SessionDep, subject: SubjectDep, settings: SettingsDep) -> AlertRead:
    """By id or reference (RA-2026-000123). Reading it records your unit's first read; persons shown are audited."""
    alert = svc.get_alert(db, subject, alert_id)
    svc.record_read(db, subject, alert)
    read = _read(db, subject, settings, alert)
    svc.record_person_read(db, subject, alert, len(read.persons))
    return read


@router.post("/{alert_id}/acknowledge", response_model=AlertRead)
def acknowledge(alert_id: str, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> AlertRead:
    """Acknowledge for your unit (once per unit; again changes nothing)."""
    svc.acknowledge(db, subject, alert_id)
    return _read(db, subject, settings, svc.get_alert(db, subject, alert_id))


@router.post("/{alert_id}/responses", response_model=ResponseRead, status_code=201)
def respond(
    alert_id: str, body: ResponseCreate, db: SessionDep, subject: WriterDep, settings: SettingsDep
) -> ResponseRead:
    """Answer in the alert's thread (an addressed unit: marks it responded and acknowledged)."""
    response = svc.respond(db, subject, alert_id, body.text)
    read = _read(db, subject, settings, svc.get_alert(db, subject, alert_id))
    return next(r for r in read.responses if r.id == response.id)


@router.post("/{alert_id}/close", response_model=AlertRead)
def close(alert_id: str, body: CloseRequest, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> AlertRead:
    """Close (done) or cancel (withdrawn): the issuing unit only; the addressees are told."""
    alert = svc.close_alert(db, subject, alert_id, body.status, body.note)
    return _read(db, subject, settings, alert)
