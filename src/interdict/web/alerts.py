"""Rapid alert pages: list, new alert form, detail (tracking for the issuer, acknowledge, response thread)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from interdict.accounts import service as accounts
from interdict.accounts.subject import Subject
from interdict.alerts import service as svc
from interdict.alerts.models import STATUSES, URGENCIES
from interdict.alerts.present import to_read, to_summaries
from interdict.alerts.schemas import AlertCreate, CloseRequest, ResponseCreate
from interdict.core.clock import utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import FieldError, InvalidInput, from_validation_error
from interdict.core.localtime import local_input_to_utc
from interdict.core.pagination import MAX_PAGE, PageParams
from interdict.incidents.vocab import DISTRIBUTIONS, TLPS
from interdict.sharing import groups as sharing_groups
from interdict.sharing.service import require_writer
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import validate_all
from interdict.web.templating import render

router = APIRouter(include_in_schema=False)

VIEWS = ("all", "addressed", "unacknowledged", "issued")
TEXT_FIELDS = (
    "subject",
    "urgency",
    "body",
    "vessel_name",
    "vessel_imo",
    "voyage",
    "bl_awb",
    "expected_arrival",
    "containers",
    "companies",
    "persons",
    "route",
    "substances",
    "incidents",
    "addressees",
    "distribution",
    "sharing_group",
    "tlp",
)
_SPLIT = re.compile(r"[\s,;]+")
_ROUTE_SPLIT = re.compile(r"[\s,;>→]+|-{1,2}>")


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text) if w]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def alert_from_form(form: FormData, time_zone: str = "UTC") -> tuple[dict[str, Any], dict[str, Any]]:
    """(input for AlertCreate, the raw values to show again). Lists are typed one per line (companies, persons
    as "name; nationality; document", substances) or separated by commas/spaces (containers, route, incidents,
    addressees). The expected arrival is typed in the user's time zone (``time_zone``) and stored in UTC."""
    raw: dict[str, Any] = {k: (v.strip() if isinstance(v := form.get(k), str) else "") for k in TEXT_FIELDS}
    raw["groups"] = [g for g in form.getlist("groups") if isinstance(g, str) and g]
    raw["share_nominal"] = form.get("share_nominal") == "on"
    persons = []
    for line in _lines(raw["persons"]):
        parts = [p.strip() for p in line.split(";")] + ["", ""]
        persons.append({"name": parts[0], "nationality": parts[1] or None, "id_document": parts[2] or None})
    route = []
    for token in (t for t in _ROUTE_SPLIT.split(raw["route"]) if t):
        route.append({"country": token} if len(token) == 2 else {"locode": token})
    data: dict[str, Any] = {
        "subject": raw["subject"],
        "urgency": raw["urgency"] or "routine",
        "body": raw["body"] or None,
        "vessel_name": raw["vessel_name"] or None,
        "vessel_imo": raw["vessel_imo"] or None,
        "voyage": raw["voyage"] or None,
        "bl_awb": raw["bl_awb"] or None,
        "expected_arrival": local_input_to_utc(raw["expected_arrival"], time_zone),
        "containers": _words(raw["containers"]),
        "companies": _lines(raw["companies"]),
        "persons": persons,
        "route": route,
        "substances": _lines(raw["substances"]),
        "incidents": _words(raw["incidents"]),
        "addressees": _words(raw["addressees"]),
        "groups": raw["groups"],
        "distribution": raw["distribution"] or "unit",
        "sharing_group": raw["sharing_group"] or None,
        "tlp": raw["tlp"] or "AMBER",
        "share_nominal": raw["share_nominal"],
    }
    return data, raw


def errors_by_field(errors: list[FieldError]) -> dict[str, list[str]]:
    """Each message next to its form field: the alert form has one field per list (("containers", 1) -> containers)."""
    out: dict[str, list[str]] = {}
    for e in errors:
        out.setdefault(str(e.loc[0]) if e.loc else "_form", []).append(e.msg)
    return out


def _vocab() -> dict[str, Any]:
    return {"urgencies": URGENCIES, "alert_statuses": STATUSES, "distributions": DISTRIBUTIONS, "tlps": TLPS}


def _form_context(
    db: SessionDep, subject: Subject, values: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "sharing_groups": sharing_groups.visible_groups(db, subject),
        "organisations": [o for o in accounts.list_organisations(db) if o.id != subject.org_id],
        **_vocab(),
    }


@router.get("/alerts")
def list_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    qp = request.query_params
    view = qp.get("view", "all") if qp.get("view", "all") in VIEWS else "all"
    urgency = qp.get("urgency", "") if qp.get("urgency", "") in URGENCIES else ""
    status = qp.get("status", "") if qp.get("status", "") in STATUSES else ""
    page = min(int(qp.get("page", "1")), MAX_PAGE) if qp.get("page", "1").isdigit() else 1
    filters = svc.Filters(
        urgency=[urgency] if urgency else None,
        status=[status] if status else None,
        addressed_to_me=view == "addressed",
        issued_by_me=view == "issued",
        unacknowledged=view == "unacknowledged",
    )
    items, total = svc.list_alerts(db, subject, filters, PageParams(page=max(1, page), page_size=25))
    waiting = svc.count_alerts(db, subject, svc.Filters(unacknowledged=True))
    query = {k: v for k, v in {"view": view, "urgency": urgency, "status": status}.items() if v}
    return render(
        request,
        "alerts/list.html",
        {
            "items": to_summaries(db, subject, items),
            "total": total,
            "page": page,
            "pages": max(1, -(-total // 25)),
            "view": view,
            "urgency": urgency,
            "status": status,
            "waiting": waiting,
            "query": query,
            "urlencode": urlencode,
            **_vocab(),
        },
    )


@router.get("/alerts/new")
def new_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    require_writer(subject, "your role cannot issue rapid alerts")
    values = {"urgency": "urgent", "distribution": "unit", "tlp": "AMBER", "groups": [], "share_nominal": False}
    return render(request, "alerts/form.html", _form_context(db, subject, values, {}))


@router.post("/alerts/new")
def create(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_writer(subject, "your role cannot issue rapid alerts")
    data, raw = alert_from_form(form, subject.time_zone)
    try:
        body = validate_all(AlertCreate, data, lambda partial: svc.check_alert(db, subject, partial))
        alert = svc.issue_alert(db, subject, body)
    except (ValidationError, InvalidInput) as exc:
        err = from_validation_error(exc) if isinstance(exc, ValidationError) else exc
        return render(
            request, "alerts/form.html", _form_context(db, subject, raw, errors_by_field(err.errors)), status_code=422
        )
    return RedirectResponse(f"/alerts/{alert.reference}?flash=issued", status_code=303)


def _detail(
    request: Request, db: SessionDep, subject: Subject, settings: SettingsDep, ref: str, **extra: Any
) -> Response:
    alert = svc.get_alert(db, subject, ref)
    now = utcnow()
    svc.record_read(db, subject, alert, now=now)
    a = to_read(db, subject, alert, delays=svc.Delays.from_settings(settings), now=now)
    svc.record_person_read(db, subject, alert, len(a.persons))
    ctx: dict[str, Any] = {"a": a, "errors": {}, "response_text": "", **_vocab(), **extra}
    return render(request, "alerts/detail.html", ctx, status_code=422 if extra.get("errors") else 200)


@router.get("/alerts/{ref}")
def detail(ref: str, request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep) -> Response:
    return _detail(request, db, subject, settings, ref)


@router.post("/alerts/{ref}/acknowledge")
def acknowledge(ref: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    alert = svc.get_alert(db, subject, ref)
    svc.acknowledge(db, subject, alert.id)
    return RedirectResponse(f"/alerts/{alert.reference}?flash=acknowledged", status_code=303)


@router.post("/alerts/{ref}/responses")
def respond(
    ref: str, request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    alert = svc.get_alert(db, subject, ref)
    text = form.get("text")
    try:
        body = ResponseCreate.model_validate({"text": text if isinstance(text, str) else ""})
    except ValidationError as exc:
        errors = errors_by_field(from_validation_error(exc).errors)
        return _detail(request, db, subject, settings, ref, errors=errors, response_text=text or "")
    svc.respond(db, subject, alert.id, body.text)
    return RedirectResponse(f"/alerts/{alert.reference}?flash=responded#responses", status_code=303)


@router.post("/alerts/{ref}/close")
def close(ref: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    alert = svc.get_alert(db, subject, ref)
    note = form.get("note")
    try:
        body = CloseRequest.model_validate(
            {"status": form.get("status") or "closed", "note": note if isinstance(note, str) else None}
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    svc.close_alert(db, subject, alert.id, body.status, body.note)
    return RedirectResponse(f"/alerts/{alert.reference}?flash={body.status}", status_code=303)
