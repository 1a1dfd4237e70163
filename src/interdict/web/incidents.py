"""Incident pages: dashboard, list and search, form (new/edit), detail with history and attachments."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.datastructures import UploadFile

from interdict.accounts.subject import Subject
from interdict.alerts import service as alerts
from interdict.core.clock import today
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import Conflict, FieldError, InvalidInput, PayloadTooLarge, from_validation_error
from interdict.core.filters import Group
from interdict.core.i18n import N_
from interdict.core.localtime import local_today
from interdict.core.pagination import MAX_PAGE, PageParams
from interdict.incidents import attachments as att_service
from interdict.incidents import service as svc
from interdict.incidents.api import params_filter
from interdict.incidents.models import Incident
from interdict.incidents.present import persons_matched, to_read, to_summaries
from interdict.incidents.schemas import IncidentBase, IncidentCreate, IncidentPatch
from interdict.incidents.vocab import (
    DETECTION_METHODS,
    DISTRIBUTIONS,
    FORMS,
    INCIDENT_TYPES,
    LAB_CONFIRMATIONS,
    MODES,
    PARTY_KINDS,
    PARTY_ROLES,
    PLACE_TYPES,
    STATUSES,
    TLPS,
    UNITS,
)
from interdict.linkage import service as linkage
from interdict.reference.catalogue import get_index
from interdict.reference.countries import resolve_country
from interdict.sharing import groups as sharing_groups
from interdict.sharing.models import SharingGroup
from interdict.sharing.schemas import SharingChange
from interdict.sharing.service import any_participant, can_edit, readable, require_editable, require_writer
from interdict.targeting import service as targeting
from interdict.watch import service as watch
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import errors_by_field, form_lines, incident_error_ids, incident_from_form, validate_all
from interdict.web.templating import render, request_lang

router = APIRouter(include_in_schema=False)

LIST_PARAMS = (
    "q",
    "type",
    "status",
    "country",
    "port",
    "route_country",
    "substance",
    "substance_class",
    "date_from",
    "date_to",
    "company",
    "container",
    "sort",
)


def vocab() -> dict[str, Any]:
    return {
        "incident_types": INCIDENT_TYPES,
        "statuses": STATUSES,
        "place_types": PLACE_TYPES,
        "modes": MODES,
        "units": UNITS,
        "forms": FORMS,
        "lab_confirmations": LAB_CONFIRMATIONS,
        "detection_methods": DETECTION_METHODS,
        "party_roles": PARTY_ROLES,
        "party_kinds": PARTY_KINDS,
        "distributions": DISTRIBUTIONS,
        "tlps": TLPS,
    }


@router.get("/")
def home(subject: WebSubject) -> Response:
    any_participant(subject, "home page")
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/dashboard")
def dashboard(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    since = today() - timedelta(days=365)
    by_type = dict(svc.counts_by(db, subject, Incident.incident_type))
    recent = svc.search_incidents(db, subject, sort="-reported_date", page=PageParams(page=1, page_size=10))
    drafts_stmt = (
        select(func.count())
        .select_from(Incident)
        .where(Incident.owner_org_id == subject.org_id, Incident.status == "draft")
    )
    year_stmt = readable(
        select(func.count()).select_from(Incident).where(Incident.incident_date >= since), subject, Incident
    )
    lang = request_lang(request, subject)
    return render(
        request,
        "dashboard.html",
        {
            "by_type": by_type,
            "total": sum(by_type.values()),
            "last_year": db.scalar(year_stmt) or 0,
            "drafts": db.scalar(drafts_stmt) or 0,
            "recent": to_summaries(db, recent.items, lang=lang),
            **vocab(),
        },
    )


def _(message: str) -> str:
    """Marks ``message`` for extraction (scripts/i18n-update); the template translates it at render time."""
    return message


# What a search result's "why it matched" line names (incidents.search.why_matched's fields; parties by their role).
MATCH_FIELDS = {
    "company": _("Company"),
    "person": _("Person"),
    "container": _("Container"),
    "vessel": _("Vessel"),
    "bl_awb": _("B/L or AWB"),
    "vehicle": _("Vehicle"),
    "parcel": _("Parcel"),
    "reference": _("Reference"),
    "place": _("Place"),
    "goods": _("Goods description"),
    "narrative": _("Narrative"),
}


def _country_code(value: str) -> str:
    """A country picked or typed by name ("Trung Quốc (CN)", "trung quoc") as its code; anything else as typed."""
    return resolve_country(value) or value


def search_filter(values: dict[str, str]) -> Group | None:
    """The list page's filter form as a filter tree (raises ValueError for a malformed date)."""
    return params_filter(
        type=[values["type"]] if values.get("type") else None,
        status=[values["status"]] if values.get("status") else None,
        country=[_country_code(values["country"])] if values.get("country") else None,
        port=[values["port"]] if values.get("port") else None,
        route_country=[_country_code(values["route_country"])] if values.get("route_country") else None,
        substance=[values["substance"]] if values.get("substance") else None,
        substance_class=[values["substance_class"]] if values.get("substance_class") else None,
        date_from=date.fromisoformat(values["date_from"]) if values.get("date_from") else None,
        date_to=date.fromisoformat(values["date_to"]) if values.get("date_to") else None,
        company=values.get("company") or None,
        container=values.get("container") or None,
    )


@router.get("/incidents")
def list_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    qp = request.query_params
    values = {k: qp.get(k, "") for k in LIST_PARAMS}
    for key in ("country", "route_country"):  # picked by name ("Trung Quốc (CN)"): the code from here on (export link)
        values[key] = _country_code(values[key]) if values[key] else ""
    lang = request_lang(request, subject)
    page = min(int(qp.get("page", "1")), MAX_PAGE) if qp.get("page", "1").isdigit() else 1
    errors: dict[str, list[str]] = {}
    result = None
    try:
        node = search_filter(values)
        sort = values["sort"] if values["sort"] in svc.SORTS else "-incident_date"
        result = svc.search_incidents(
            db,
            subject,
            filter_node=node,
            q=values["q"] or None,
            sort=sort,
            page=PageParams(page=max(1, page), page_size=25),
        )
    except ValueError:
        errors["date_from"] = ["dates are written YYYY-MM-DD"]
    except InvalidInput as exc:
        for e in exc.errors:
            field = _filter_field(e, values)
            errors.setdefault(field, []).append(e.msg)
    index = get_index(db)
    items = (
        to_summaries(
            db, result.items, q=values["q"] or None, lang=lang, company=values["company"] or None, subject=subject
        )
        if result
        else []
    )
    svc.record_nominal_reads(db, subject, persons_matched(items), where="why search results matched")
    query = {k: v for k, v in values.items() if v}
    return render(
        request,
        "incidents/list.html",
        {
            "values": values,
            "errors": errors,
            "items": items,
            "total": result.total if result else 0,
            "total_exact": result.total_exact if result else True,
            "page": page,
            "pages": result.pages if result else 1,
            "query": query,
            "urlencode": urlencode,
            "match_fields": MATCH_FIELDS,
            "classes": sorted(index.class_labels.items()),
            "control_lists": list(index.control_lists.values()),
            **vocab(),
        },
    )


def _filter_field(error: FieldError, values: dict[str, str]) -> str:
    msg = error.msg.split(":", 1)[0]
    return msg if msg in values else "q"


def _form_context(
    db: SessionDep,
    subject: Subject,
    data: dict[str, Any],
    errors: dict[str, list[str]],
    *,
    incident: Any = None,
    warnings: list[FieldError] | None = None,
) -> dict[str, Any]:
    index = get_index(db)
    return {
        "data": data,
        "errors": errors,
        "error_ids": incident_error_ids(errors),
        "incident": incident,
        "sharing_groups": sharing_groups.visible_groups(db, subject),
        "warnings": warnings or [],
        "substance_lines": form_lines(data, "substances"),
        "party_lines": form_lines(data, "parties"),
        "container_lines": form_lines(data, "containers"),
        "transit_lines": form_lines(data, "transits"),
        "modus_terms": [t for t in index.taxonomy.get("modus", {}).values() if t.active],
        "substance_names": {str(k): v.name for k, v in index.substances.items()},
        "today": local_today(subject.time_zone).isoformat(),  # the browser's max: the user's day
        **vocab(),
    }


@router.get("/incidents/new")
def new_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    require_writer(subject)
    data: dict[str, Any] = {
        "country": subject.country,
        "reported_date": local_today(subject.time_zone).isoformat(),
        "distribution": "organisation",
        "tlp": "AMBER",
    }
    extra: dict[str, Any] = {}
    from_alert = request.query_params.get("from_alert")
    if from_alert:
        # Prefilled from a rapid alert the user may read (404 otherwise); with ?response=<id> the saved incident
        # is linked to that response of the user's unit.
        alert, prefill = alerts.incident_prefill(db, subject, from_alert)
        data.update({k: v for k, v in prefill.items() if v not in (None, [], "")})
        extra = {"from_alert": alert.reference, "from_response": request.query_params.get("response", "")}
    from_target = request.query_params.get("from_target")
    if from_target:
        # Prefilled from a targeted container's seizure (the user's unit's record; 404 otherwise); the saved
        # incident is linked back to the record.
        record, prefill = targeting.incident_prefill(db, subject, from_target)
        data.update({k: v for k, v in prefill.items() if v not in (None, [], "")})
        extra = {"from_target": str(record.id), "from_target_ref": record.record_id}
    return render(request, "incidents/form.html", {**_form_context(db, subject, data, {}), **extra})


def _group_names(db: SessionDep, versions: list[Any]) -> dict[str, str]:
    """The names of the sharing groups the history mentions (it stores their ids)."""
    ids = {
        uuid.UUID(str(v))
        for ver in versions
        for c in ver.changes
        if c.get("field") == "sharing_group"
        for v in (c.get("old"), c.get("new"))
        if v
    }
    if not ids:
        return {}
    rows = db.execute(select(SharingGroup.id, SharingGroup.name).where(SharingGroup.id.in_(ids)))
    return {str(gid): name for gid, name in rows}


def _invalid(exc: ValidationError | InvalidInput) -> InvalidInput:
    return from_validation_error(exc) if isinstance(exc, ValidationError) else exc


@router.post("/incidents/new")
def create(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_writer(subject)
    data = incident_from_form(form)
    submit = form.get("action") == "submit"
    from_response = form.get("alert_response")
    from_target = form.get("from_target")
    extra = {
        "from_alert": form.get("from_alert") or "",
        "from_response": from_response or "",
        "from_target": from_target or "",
        "from_target_ref": form.get("from_target_ref") or "",
    }
    try:
        index = get_index(db)
        body = validate_all(IncidentCreate, {**data, "submit": submit}, lambda partial: svc.check(index, partial))
        incident, warnings = svc.create_incident(db, subject, body)
        if isinstance(from_response, str) and from_response:
            alerts.link_response_incident(db, subject, from_response, incident)
        if isinstance(from_target, str) and from_target:
            targeting.link_incident(db, subject, from_target, incident)
    except (ValidationError, InvalidInput) as exc:
        err = _invalid(exc)
        return render(
            request,
            "incidents/form.html",
            {**_form_context(db, subject, data, errors_by_field(err.errors)), **extra},
            status_code=422,
        )
    flash = "warnings" if warnings else ("submitted" if submit else "saved")
    return RedirectResponse(f"/incidents/{incident.reference}?flash={flash}", status_code=303)


@router.get("/incidents/{ref}")
def detail(ref: str, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    return _detail(ref, request, db, subject)


def _detail(ref: str, request: Request, db: SessionDep, subject: Subject, **extra: Any) -> Response:
    """The incident page; ``extra``: a refused attachment's errors and description (``att_errors``, ``att_values``),
    shown on its form (answered 422)."""
    incident = svc.get_incident(db, subject, ref)
    read = to_read(db, incident, subject=subject)
    versions = svc.history(db, subject, incident.id)
    # The page shows the persons of the record and of its history (persons since removed or changed): one read.
    shown = [p.model_dump(mode="json") for p in read.parties if p.kind == "person"]
    shown += svc.persons_in_history(versions)
    svc.record_nominal_read(db, subject, incident, len({json.dumps(p, sort_keys=True) for p in shown}))
    users = svc.users_by_id(db, {v.changed_by_id for v in versions})
    index = get_index(db)
    lang = request_lang(request, subject)
    links = linkage.linked_incidents(db, subject, incident)
    return render(
        request,
        "incidents/detail.html",
        {
            "i": read,
            "links": links,
            "linking_running": incident.status != "draft" and not linkage.linking_done(db, incident),
            "notices": links.deconfliction,
            "acknowledged": watch.acknowledgements(db, subject, incident),
            "entities": linkage.incident_entities(db, subject, incident),
            "can_judge": subject.has_role("analyst") and "write" in subject.scopes,
            **vocab(),
            "sharing_groups": sharing_groups.visible_groups(db, subject) if can_edit(incident, subject) else [],
            "notes": svc.reference_notes(incident, index),
            "versions": versions,
            "group_names": _group_names(db, versions),
            "users": users,
            "can_edit": can_edit(incident, subject),
            "attachments": att_service.list_attachments(db, subject, incident.id),
            "country_name": lambda c: index.country_name(c, lang),
            "location_name": lambda c: index.locations[c].name if c and c in index.locations else "",
            "modus_label": lambda c: (lambda t: (t.label_vi if lang == "vi" else t.label_en) if t else c)(
                index.taxonomy.get("modus", {}).get(c)
            ),
            "control_label": lambda c: (lambda cl: (cl.label_vi if lang == "vi" else cl.label_en) if cl else c)(
                index.control_lists.get(c)
            ),
            "att_errors": {},
            "att_values": {},
            **extra,
        },
        status_code=422 if extra.get("att_errors") else 200,
    )


@router.get("/incidents/{ref}/edit")
def edit_page(ref: str, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    incident = svc.get_incident(db, subject, ref)
    require_editable(incident, subject)
    data = svc.current_input(incident, get_index(db))
    data["version"] = incident.version
    persons = sum(1 for p in data.get("parties") or [] if p.get("kind") == "person")
    svc.record_nominal_read(db, subject, incident, persons, where="the edit form")
    return render(request, "incidents/form.html", _form_context(db, subject, data, {}, incident=incident))


@router.post("/incidents/{ref}/edit")
def update(ref: str, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    incident = svc.get_incident(db, subject, ref)
    data = incident_from_form(form)
    version = form.get("version")
    try:
        # The whole form as a record first: its format errors and the reference-data checks, all in one answer.
        index = get_index(db)
        default = incident.reported_date
        validate_all(IncidentBase, data, lambda partial: svc.check(index, partial, reported_default=default))
        patch = IncidentPatch.model_validate(
            {**data, "version": int(version) if isinstance(version, str) and version.isdigit() else -1}
        )
        incident, warnings = svc.update_incident(db, subject, incident.id, patch)
    except (ValidationError, InvalidInput) as exc:
        err = _invalid(exc)
        return render(
            request,
            "incidents/form.html",
            _form_context(db, subject, {**data, "version": version}, errors_by_field(err.errors), incident=incident),
            status_code=422,
        )
    except Conflict as exc:
        return render(
            request,
            "incidents/form.html",
            _form_context(db, subject, {**data, "version": version}, {"_form": [exc.message]}, incident=incident),
            status_code=409,
        )
    return RedirectResponse(
        f"/incidents/{incident.reference}?flash={'warnings' if warnings else 'saved'}", status_code=303
    )


def _transition(ref: str, action: svc.Action, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    incident = svc.get_incident(db, subject, ref)
    version = form.get("version")
    svc.transition(
        db,
        subject,
        incident.id,
        action,
        int(version) if isinstance(version, str) and version.isdigit() else -1,
    )
    return RedirectResponse(f"/incidents/{incident.reference}?flash={action}", status_code=303)


@router.post("/incidents/{ref}/sharing")
def change_sharing(ref: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    incident = svc.get_incident(db, subject, ref)
    version = form.get("version")
    group = form.get("sharing_group")
    try:
        change = SharingChange.model_validate(
            {
                "version": int(version) if isinstance(version, str) and version.isdigit() else -1,
                "distribution": form.get("distribution"),
                "sharing_group": group if isinstance(group, str) and group else None,
                "tlp": form.get("tlp"),
                "share_nominal": form.get("share_nominal") == "on",
            }
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    svc.change_sharing(db, subject, incident.id, change)
    return RedirectResponse(f"/incidents/{incident.reference}?flash=shared#sharing", status_code=303)


@router.post("/incidents/{ref}/submit")
def submit(ref: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    return _transition(ref, "submit", db, subject, form)


@router.post("/incidents/{ref}/close")
def close(ref: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    return _transition(ref, "close", db, subject, form)


@router.post("/incidents/{ref}/reopen")
def reopen(ref: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    return _transition(ref, "reopen", db, subject, form)


@router.post("/incidents/{ref}/attachments")
def upload(
    ref: str, request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    incident = svc.get_incident(db, subject, ref)
    file = form.get("file")
    description = form.get("description")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput(FieldError(("file",), N_("choose a file to upload")))
        att_service.add_attachment(
            db,
            subject,
            att_service.Storage(settings.attachments_dir),
            incident.id,
            filename=file.filename,
            stream=file.file,
            limit=settings.max_upload_bytes,
            description=description if isinstance(description, str) else None,
        )
    except (InvalidInput, PayloadTooLarge) as exc:  # the page again, the reason by the file, the description kept
        db.rollback()
        errs = exc.errors if isinstance(exc, InvalidInput) else [FieldError(("file",), exc.message)]
        values = {"description": description if isinstance(description, str) else ""}
        return _detail(ref, request, db, subject, att_errors=errors_by_field(errs), att_values=values)
    return RedirectResponse(f"/incidents/{incident.reference}?flash=attached#attachments", status_code=303)


@router.post("/attachments/{attachment_id}/delete")
def delete_attachment(
    attachment_id: uuid.UUID,
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    att, incident = att_service.get_attachment(db, subject, attachment_id)
    att_service.delete_attachment(db, subject, att_service.Storage(settings.attachments_dir), att.id)
    return RedirectResponse(f"/incidents/{incident.reference}?flash=attachment_removed#attachments", status_code=303)
