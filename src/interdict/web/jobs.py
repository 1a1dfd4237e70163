"""Background jobs' pages: the incident import form, and a job's page (progress while it runs, then the result).

The job page refreshes itself every 2 seconds while the job is queued or running (a meta refresh: no script), so
the officer who uploaded a file follows it and then reads the result: the load's counts and rejected rows with a
link to the worklist, or the import's report, or why the job failed."""

from __future__ import annotations

import io
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import FieldError, InvalidInput, NotFound, PayloadTooLarge
from interdict.incidents import importexport
from interdict.jobs import service
from interdict.sharing.service import any_participant
from interdict.targeting import service as targeting
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import errors_by_field
from interdict.web.templating import render

router = APIRouter(include_in_schema=False)

SHOWN = 200  # rejected rows listed on a job's page


@router.get("/incidents/import")
def import_form(request: Request, subject: WebSubject) -> Response:
    any_participant(subject, "incident import form")
    return render(request, "jobs/import.html", {"errors": {}, "values": {}})


@router.post("/incidents/import")
async def import_upload(
    request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm
) -> Response:
    file = form.get("file")
    values = {"skip_invalid": "on" if form.get("skip_invalid") else ""}
    upload = file if isinstance(file, UploadFile) else None
    try:
        job = await run_in_threadpool(  # copies the file to disk: not in the event loop
            lambda: importexport.queue_import(
                db,
                subject,
                settings,
                filename=upload.filename if upload else None,
                stream=upload.file if upload else io.BytesIO(),
                skip_invalid=bool(values["skip_invalid"]),
            )
        )
    except (InvalidInput, PayloadTooLarge) as exc:
        db.rollback()
        errs = exc.errors if isinstance(exc, InvalidInput) else [FieldError(("file",), exc.message)]
        # A problem of the file's header ("header") is said next to the file field.
        errs = [FieldError(("file",), e.msg, e.type) if e.loc[:1] == ("header",) else e for e in errs]
        status = 422 if isinstance(exc, InvalidInput) else 413
        ctx = {"errors": errors_by_field(errs), "values": values}
        return render(request, "jobs/import.html", ctx, status_code=status)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(
    job_id: uuid.UUID, request: Request, db: SessionDep, subject: WebSubject, settings: SettingsDep
) -> Response:
    job = service.get_job(db, subject, job_id)
    progress = service.shown_progress(settings, job)
    result: dict[str, Any] = job.result or {}
    rejections: list[Any] = []
    batch_id = result.get("batch_id") if job.kind == "targeting.load" and job.status == "done" else None
    if batch_id:
        try:
            rejections = targeting.rejections(db, subject, batch_id)[:SHOWN]
        except NotFound:  # the load was removed since, or the reader's unit moved
            batch_id = None
    percent = None
    if progress.total:
        percent = min(100, round(100 * progress.done / progress.total))
    return render(
        request,
        "jobs/detail.html",
        {
            "job": job,
            "progress": progress,
            "percent": percent,
            "result": result,
            "batch_id": batch_id,
            "rejections": rejections,
            "shown": SHOWN,
            "refresh": job.status in ("queued", "running"),
        },
    )
