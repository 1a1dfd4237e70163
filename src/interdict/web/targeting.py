"""PCU targeting pages: loads (upload, rejections), the ranked worklist (filter, select within capacity, assign,
outcome; a seizure opens the prefilled incident form), risk profiles, and the performance page."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from interdict.core.clock import utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import FieldError, InvalidInput, PayloadTooLarge, from_validation_error
from interdict.core.i18n import N_
from interdict.targeting import service
from interdict.targeting.mapping import shipped_mappings
from interdict.targeting.profiles import FIELDS_DOC
from interdict.targeting.schemas import OutcomeBody, ProfileCreate, ProfileUpdate
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import errors_by_field
from interdict.web.templating import render

router = APIRouter(include_in_schema=False)

FILTERS = ("lane", "hs", "origin", "party", "text")


def _index_context(db: SessionDep, subject: WebSubject) -> dict[str, Any]:
    return {
        "batches": [service.batch_read(db, b) for b in service.list_batches(db, subject)],
        "mappings": shipped_mappings(),
        "errors": {},
        "values": {},
    }


@router.get("/targeting")
def index(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    return render(request, "targeting/index.html", _index_context(db, subject))


@router.post("/targeting/upload")
async def upload(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    values = {k: str(form.get(k) or "") for k in ("mapping", "batch_name")}
    file = form.get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput(FieldError(("file",), N_("choose a file to load")))
        job = await run_in_threadpool(  # copies the file to disk: not in the event loop
            lambda: service.queue_upload(
                db,
                subject,
                settings,
                filename=file.filename,
                stream=file.file,
                mapping=values["mapping"],
                batch_name=values["batch_name"],
            )
        )
    except InvalidInput as exc:
        db.rollback()
        ctx = _index_context(db, subject)
        return render(
            request,
            "targeting/index.html",
            {**ctx, "errors": errors_by_field(exc.errors), "values": values},
            status_code=422,
        )
    except PayloadTooLarge as exc:  # the form again, with the reason next to the file field
        db.rollback()
        ctx = _index_context(db, subject)
        errors = errors_by_field([FieldError(("file",), exc.message)])
        return render(request, "targeting/index.html", {**ctx, "errors": errors, "values": values}, status_code=413)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _worklist(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, batch_id: uuid.UUID, **extra: Any
) -> Response:
    batch = service.get_batch(db, subject, batch_id)
    filters = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    errors = dict(extra.pop("errors", {}))
    try:
        rows = service.worklist(
            db,
            subject,
            batch,
            lane=filters["lane"] or None,
            hs=filters["hs"] or None,
            origin=filters["origin"] or None,
            party=filters["party"] or None,
            text=filters["text"] or None,
        )
    except InvalidInput as exc:
        errors.update(errors_by_field(exc.errors))
        rows = service.worklist(db, subject, batch)
    records = service.records_read(db, subject, rows)
    loaded = request.query_params.get("loaded", "")
    counts = loaded.split("-") if loaded.count("-") == 2 else None
    return render(
        request,
        "targeting/worklist.html",
        {
            "batch": service.batch_read(db, batch),
            "records": records,
            "filters": filters,
            "errors": errors,
            "capacity": settings.targeting_capacity,
            "selected_risk": sum(1 for r in rows if r.selected and r.selected_reason == "risk"),
            "editable": subject.can_write and batch.owner_org_id == subject.org_id,
            "officers": service.unit_officers(db, batch.owner_org_id),
            "rejections": service.rejections(db, subject, batch.id),
            "counts": counts,
            "no_model": settings.targeting_model is None,
            **extra,
        },
        status_code=422 if errors else 200,
    )


@router.get("/targeting/batches/{batch_id}")
def worklist_page(
    batch_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep
) -> Response:
    return _worklist(request, db, subject, settings, batch_id)


@router.get("/targeting/batches/{batch_id}/rejections.csv")
def rejections_csv(batch_id: uuid.UUID, db: SessionDep, subject: WebSubject) -> Response:
    return Response(
        service.export_rejections(db, subject, batch_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rejections-{batch_id}.csv"'},
    )


@router.post("/targeting/batches/{batch_id}/select")
def select(
    batch_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    ids: list[uuid.UUID] = []
    for v in form.getlist("record"):
        try:
            ids.append(uuid.UUID(str(v)))
        except ValueError:
            continue
    try:
        if not ids:
            raise InvalidInput(FieldError(("selected",), N_("tick the containers to inspect first")))
        service.select_records(db, subject, settings, batch_id, ids, now=utcnow())
    except InvalidInput as exc:
        db.rollback()
        return _worklist(request, db, subject, settings, batch_id, errors=errors_by_field(exc.errors))
    return RedirectResponse(f"/targeting/batches/{batch_id}", status_code=303)


@router.post("/targeting/records/{record_id}/assign")
def assign(
    record_id: uuid.UUID,
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    rec = service.get_record(db, subject, record_id)
    try:
        service.assign(db, subject, record_id, str(form.get("username") or ""))
    except InvalidInput as exc:
        db.rollback()
        return _worklist(request, db, subject, settings, rec.batch_id, errors=errors_by_field(exc.errors))
    return RedirectResponse(f"/targeting/batches/{rec.batch_id}#r-{record_id}", status_code=303)


@router.post("/targeting/records/{record_id}/outcome")
def outcome(
    record_id: uuid.UUID,
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    rec = service.get_record(db, subject, record_id)
    try:
        body = OutcomeBody.model_validate({"outcome": form.get("outcome") or "", "notes": form.get("notes") or None})
        service.record_outcome(db, subject, record_id, body, now=utcnow())
    except (ValidationError, InvalidInput) as exc:
        err = from_validation_error(exc) if isinstance(exc, ValidationError) else exc
        db.rollback()
        return _worklist(request, db, subject, settings, rec.batch_id, errors=errors_by_field(err.errors))
    if body.outcome == "seizure" and rec.incident_id is None:
        return RedirectResponse(f"/incidents/new?from_target={record_id}", status_code=303)
    return RedirectResponse(f"/targeting/batches/{rec.batch_id}#r-{record_id}", status_code=303)


# --- risk profiles ---------------------------------------------------------------------------------


def _profiles(request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, **extra: Any) -> Response:
    items = service.profiles_read(db, subject, settings, service.list_profiles(db, subject))
    ctx = {"profiles": items, "fields": FIELDS_DOC, "errors": {}, "values": {}, **extra}
    return render(request, "targeting/profiles.html", ctx, status_code=422 if extra.get("errors") else 200)


@router.get("/targeting/profiles")
def profiles_page(request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep) -> Response:
    return _profiles(request, db, subject, settings)


@router.post("/targeting/profiles")
def create_profile(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    keys = ("name", "criteria", "weight", "lane", "valid_from", "valid_to", "rationale")
    values = {k: str(form.get(k) or "") for k in keys}
    try:
        try:
            criteria = json.loads(values["criteria"] or "null")
        except json.JSONDecodeError as exc:
            raise InvalidInput(FieldError(("criteria",), N_("is not valid JSON: %(msg)s", msg=exc.msg))) from None
        if not isinstance(criteria, dict):
            raise InvalidInput(
                FieldError(("criteria",), N_('write the criteria as a filter tree, e.g. {"all": [...]}'))
            )
        body = ProfileCreate.model_validate(
            {
                "name": values["name"],
                "criteria": criteria,
                "weight": values["weight"] or None,
                "lane": values["lane"] or None,
                "valid_from": values["valid_from"] or None,
                "valid_to": values["valid_to"] or None,
                "rationale": values["rationale"],
            }
        )
        service.create_profile(db, subject, body, now=utcnow())
    except (ValidationError, InvalidInput) as exc:
        err = from_validation_error(exc) if isinstance(exc, ValidationError) else exc
        db.rollback()
        return _profiles(request, db, subject, settings, errors=errors_by_field(err.errors), values=values)
    return RedirectResponse("/targeting/profiles", status_code=303)


@router.post("/targeting/profiles/{profile_id}/toggle")
def toggle_profile(profile_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    p = service.get_profile(db, subject, profile_id)
    service.update_profile(db, subject, profile_id, ProfileUpdate(active=not p.active), now=utcnow())
    return RedirectResponse("/targeting/profiles", status_code=303)


@router.post("/targeting/profiles/{profile_id}/delete")
def delete_profile(profile_id: uuid.UUID, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    service.delete_profile(db, subject, profile_id)
    return RedirectResponse("/targeting/profiles", status_code=303)


@router.get("/targeting/performance")
def performance(request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep) -> Response:
    perf = service.performance(db, subject, settings)
    items = service.profiles_read(db, subject, settings, service.list_profiles(db, subject))
    return render(request, "targeting/performance.html", {"perf": perf, "profiles": items})
