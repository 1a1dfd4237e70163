"""PCU targeting pages: loads (upload, rejections), the ranked worklist (filter, select within capacity, assign,
outcome; a seizure opens the prefilled incident form), risk profiles, and the performance page."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from interdict.core.clock import utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import FieldError, InvalidInput, PayloadTooLarge, from_validation_error
from interdict.core.i18n import N_
from interdict.jobs import held
from interdict.targeting import service
from interdict.targeting.mapping import shipped_mappings
from interdict.targeting.profiles import FIELDS_DOC
from interdict.targeting.schemas import OutcomeBody, ProfileCreate, ProfileUpdate
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import errors_by_field
from interdict.web.templating import render

router = APIRouter(include_in_schema=False)

FILTERS = ("lane", "hs", "origin", "party", "text")


def _index_context(db: SessionDep, subject: WebSubject, settings: SettingsDep) -> dict[str, Any]:
    return {
        "batches": [service.batch_read(db, b) for b in service.list_batches(db, subject)],
        "guidance": service.guidance(db, subject, settings),
        "mappings": shipped_mappings(),
        "errors": {},
        "values": {},
        "kept": None,  # an upload kept from the previous try (jobs.held)
    }


@router.get("/targeting")
def index(request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep) -> Response:
    return render(request, "targeting/index.html", _index_context(db, subject, settings))


@router.post("/targeting/upload")
async def upload(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    values = {k: str(form.get(k) or "") for k in ("mapping", "batch_name")}
    file = form.get("file")
    chosen = file if isinstance(file, UploadFile) and file.filename else None
    # A file kept from the previous try (the form came back for another problem) serves unless another is chosen.
    kept = None if chosen else held.get(settings, subject, str(form.get("kept") or ""))
    try:
        if chosen is None and kept is None:
            raise InvalidInput(FieldError(("file",), N_("choose a file to load")))

        def queue() -> Any:  # copies the file to disk: not in the event loop
            if chosen is not None:
                return service.queue_upload(
                    db,
                    subject,
                    settings,
                    filename=chosen.filename,
                    stream=chosen.file,
                    mapping=values["mapping"],
                    batch_name=values["batch_name"],
                )
            assert kept is not None
            with kept.path.open("rb") as stream:
                return service.queue_upload(
                    db,
                    subject,
                    settings,
                    filename=kept.filename,
                    stream=stream,
                    mapping=values["mapping"],
                    batch_name=values["batch_name"],
                )

        job = await run_in_threadpool(queue)
    except (InvalidInput, PayloadTooLarge) as exc:  # the form again, with its values and the file kept
        db.rollback()
        errs = exc.errors if isinstance(exc, InvalidInput) else [FieldError(("file",), exc.message)]
        if any(e.loc[:1] == ("file",) for e in errs):  # the file itself was refused: nothing worth keeping
            if kept is not None:
                held.drop(settings, kept.token)
            kept = None
        elif chosen is not None:
            limit = settings.targeting_max_upload_bytes
            upload = chosen
            try:
                kept = await run_in_threadpool(
                    lambda: held.hold(settings, subject, upload.file, upload.filename or "upload", limit)
                )
            except PayloadTooLarge as too_large:  # refused before its size was known (another field's problem)
                errs = [*errs, FieldError(("file",), too_large.message)]
        ctx = _index_context(db, subject, settings)
        status = 413 if isinstance(exc, PayloadTooLarge) else 422
        return render(
            request,
            "targeting/index.html",
            {**ctx, "errors": errors_by_field(errs), "values": values, "kept": kept},
            status_code=status,
        )
    if kept is not None:
        held.drop(settings, kept.token)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


PAGE_SIZES = (50, 100, 200, 500)
DEFAULT_PAGE_SIZE = 100


def _int_param(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, ""))
    except ValueError:
        return default


def _worklist(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, batch_id: uuid.UUID, **extra: Any
) -> Response:
    batch = service.get_batch(db, subject, batch_id)
    filters = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    errors = dict(extra.pop("errors", {}))
    size = _int_param(request, "size", DEFAULT_PAGE_SIZE)
    if size not in PAGE_SIZES:
        size = DEFAULT_PAGE_SIZE
    page = max(_int_param(request, "page", 1), 1)
    given: service.WorklistFilters = {
        "lane": filters["lane"] or None,
        "hs": filters["hs"] or None,
        "origin": filters["origin"] or None,
        "party": filters["party"] or None,
        "text": filters["text"] or None,
    }
    try:
        total = service.worklist_total(db, subject, batch, **given)
    except InvalidInput as exc:
        errors.update(errors_by_field(exc.errors))
        given = service.WorklistFilters()
        total = service.worklist_total(db, subject, batch)
    pages = max((total + size - 1) // size, 1)
    page = min(page, pages)
    rows = service.worklist(db, subject, batch, **given, limit=size, offset=(page - 1) * size)
    records = service.records_read(db, subject, rows)
    loaded = request.query_params.get("loaded", "")
    counts = loaded.split("-") if loaded.count("-") == 2 else None
    query = {k: v for k, v in filters.items() if v}
    if size != DEFAULT_PAGE_SIZE:
        query["size"] = str(size)
    return render(
        request,
        "targeting/worklist.html",
        {
            "batch": service.batch_read(db, batch),
            "records": records,
            "filters": filters,
            "errors": errors,
            "capacity": settings.targeting_capacity,
            "selected_risk": service.selected_for_risk(db, batch),
            "editable": subject.can_write and batch.owner_org_id == subject.org_id,
            "officers": service.unit_officers(db, batch.owner_org_id),
            "rejections": service.rejections(db, subject, batch.id),
            "counts": counts,
            "guidance": service.guidance(db, subject, settings),
            "paging": {
                "page": page,
                "pages": pages,
                "size": size,
                "sizes": PAGE_SIZES,
                "total": total,
                "first": (page - 1) * size + 1 if total else 0,
                "last": min(page * size, total),
                "query": urlencode(query),
                # what a form on the page sends back to come back to this view
                "kept": urlencode({**query, "page": str(page)} if page > 1 else query),
            },
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
    return RedirectResponse(f"/targeting/batches/{batch_id}{_kept_view(request)}", status_code=303)


def _kept_view(request: Request) -> str:
    """The worklist's filters, page size and page that a form on it was sent from (its action's query), as the
    query to go back to them."""
    kept = {k: v for k in (*FILTERS, "size", "page") if (v := request.query_params.get(k, "").strip())}
    return f"?{urlencode(kept)}" if kept else ""


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

PROFILE_KEYS = ("name", "criteria", "weight", "lane", "valid_from", "valid_to", "rationale")
OPS = ("eq", "ne", "in", "not_in", "contains", "match", "gte", "lte", "between", "exists")
BLANK_ROWS = 2


def _form_values(form: Any) -> tuple[dict[str, str], list[dict[str, str]]]:
    values = {k: str(form.get(k) or "") for k in PROFILE_KEYS}
    values["use_json"] = "1" if form.get("use_json") else ""
    rows = []
    for i in range(50):
        field = form.get(f"cond_field_{i}")
        if field is None:
            break
        rows.append(
            {
                "field": str(field),
                "op": str(form.get(f"cond_op_{i}") or "eq"),
                "value": str(form.get(f"cond_value_{i}") or ""),
            }
        )
    return values, [r for r in rows if r["field"]]


def _criteria(values: dict[str, str], rows: list[dict[str, str]]) -> dict[str, Any]:
    if values["use_json"]:
        try:
            criteria = json.loads(values["criteria"] or "null")
        except json.JSONDecodeError as exc:
            raise InvalidInput(FieldError(("criteria",), N_("is not valid JSON: %(msg)s", msg=exc.msg))) from None
        if not isinstance(criteria, dict):
            raise InvalidInput(
                FieldError(("criteria",), N_('write the criteria as a filter tree, e.g. {"all": [...]}'))
            )
        return criteria
    return service.conditions_criteria([(r["field"], r["op"], r["value"]) for r in rows])


def _rows_of(criteria: dict[str, Any] | None) -> list[dict[str, str]] | None:
    flat = service.flat_conditions(criteria)
    if flat is None:
        return None
    return [
        {
            "field": str(c.get("field", "")),
            "op": str(c.get("op", "eq")),
            "value": ", ".join(map(str, c["value"])) if isinstance(c.get("value"), list) else str(c.get("value", "")),
        }
        for c in flat
    ]


def _profile_page(
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    settings: SettingsDep,
    *,
    profile_id: uuid.UUID | None = None,
    values: dict[str, str] | None = None,
    rows: list[dict[str, str]] | None = None,
    errors: dict[str, Any] | None = None,
    preview: service.Preview | None = None,
    status_code: int = 200,
) -> Response:
    ctx: dict[str, Any] = {
        "fields": FIELDS_DOC,
        "ops": OPS,
        "errors": errors or {},
        "preview": preview,
        "preview_limit": service.PREVIEW_RECORDS,
        "suggestions": service.profile_suggestions(db, subject),
        "rescored": request.query_params.get("rescored"),
    }
    if profile_id is None:
        template = "targeting/profiles.html"
        items = service.profiles_read(db, subject, settings, service.list_profiles(db, subject))
        ctx.update(profiles=items, action=("/targeting/profiles"))
        values = values or {"use_json": ""}
    else:
        template = "targeting/profile.html"
        profile = service.get_profile(db, subject, profile_id)
        read = service.profiles_read(db, subject, settings, [profile])[0]
        if values is None:
            values = {
                "name": profile.name,
                "criteria": json.dumps(profile.criteria, ensure_ascii=False, indent=1),
                "weight": "" if profile.weight is None else str(profile.weight),
                "lane": profile.lane or "",
                "valid_from": profile.valid_from.isoformat() if profile.valid_from else "",
                "valid_to": profile.valid_to.isoformat() if profile.valid_to else "",
                "rationale": profile.rationale,
            }
            rows = _rows_of(profile.criteria)
            values["use_json"] = "1" if rows is None else ""
        ctx.update(
            profile=read,
            criteria_text=service.criteria_text(profile.criteria),
            history=service.profile_history(db, subject, profile.id),
            action=f"/targeting/profiles/{profile.id}",
        )
    shown = list(rows or [])
    shown += [{"field": "", "op": "eq", "value": ""} for _ in range(BLANK_ROWS + (1 if not shown else 0))]
    ctx.update(values=values, rows=shown)
    return render(request, template, ctx, status_code=status_code)


def _rescored_redirect(rescore: service.Rescore, target: str) -> RedirectResponse:
    if rescore.job is not None:
        return RedirectResponse(f"/jobs/{rescore.job.id}", status_code=303)
    return RedirectResponse(f"{target}?rescored={rescore.loads}", status_code=303)


@router.get("/targeting/profiles")
def profiles_page(request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep) -> Response:
    return _profile_page(request, db, subject, settings)


def _save_profile(
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    settings: SettingsDep,
    form: Any,
    profile_id: uuid.UUID | None,
) -> Response:
    values, rows = _form_values(form)
    try:
        criteria = _criteria(values, rows)
        if form.get("action") == "preview":
            preview = service.preview_profile(db, subject, criteria)
            return _profile_page(
                request, db, subject, settings, profile_id=profile_id, values=values, rows=rows, preview=preview
            )
        data = {
            "name": values["name"],
            "criteria": criteria,
            "weight": values["weight"] or None,
            "lane": values["lane"] or None,
            "valid_from": values["valid_from"] or None,
            "valid_to": values["valid_to"] or None,
            "rationale": values["rationale"],
        }
        now = utcnow()
        if profile_id is None:
            saved = service.create_profile(db, subject, ProfileCreate.model_validate(data), now=now)
        else:
            saved = service.update_profile(db, subject, profile_id, ProfileUpdate.model_validate(data), now=now)
        rescore = service.after_profile_change(db, subject, settings, now=now)
    except (ValidationError, InvalidInput) as exc:
        err = from_validation_error(exc) if isinstance(exc, ValidationError) else exc
        db.rollback()
        return _profile_page(
            request,
            db,
            subject,
            settings,
            profile_id=profile_id,
            values=values,
            rows=rows,
            errors=errors_by_field(err.errors),
            status_code=422,
        )
    return _rescored_redirect(rescore, f"/targeting/profiles/{saved.id}")


@router.post("/targeting/profiles")
def create_profile(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    return _save_profile(request, db, subject, settings, form, None)


@router.get("/targeting/profiles/{profile_id}")
def profile_page(
    profile_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep
) -> Response:
    return _profile_page(request, db, subject, settings, profile_id=profile_id)


@router.post("/targeting/profiles/{profile_id}")
def update_profile(
    profile_id: uuid.UUID,
    request: Request,
    db: SessionDep,
    subject: WebSubject,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    service.get_profile(db, subject, profile_id)  # 404 before anything else
    return _save_profile(request, db, subject, settings, form, profile_id)


@router.post("/targeting/profiles/{profile_id}/toggle")
def toggle_profile(
    profile_id: uuid.UUID, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    p = service.get_profile(db, subject, profile_id)
    now = utcnow()
    service.update_profile(db, subject, profile_id, ProfileUpdate(active=not p.active), now=now)
    return _rescored_redirect(service.after_profile_change(db, subject, settings, now=now), "/targeting/profiles")


@router.post("/targeting/profiles/{profile_id}/delete")
def delete_profile(
    profile_id: uuid.UUID, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    service.delete_profile(db, subject, profile_id)
    db.flush()
    return _rescored_redirect(service.after_profile_change(db, subject, settings, now=utcnow()), "/targeting/profiles")


@router.get("/targeting/performance")
def performance(request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep) -> Response:
    perf = service.performance(db, subject, settings)
    items = service.profiles_read(db, subject, settings, service.list_profiles(db, subject))
    return render(request, "targeting/performance.html", {"perf": perf, "profiles": items})
