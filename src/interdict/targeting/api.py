"""Targeting API: risk profiles (CRUD, with hit rates), loads and their ranked worklists, selection and outcomes."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from interdict.accounts.deps import SubjectDep, WriterDep
from interdict.core.clock import utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.fields import Line, OptLine
from interdict.jobs.api import job_read
from interdict.jobs.schemas import JobRead
from interdict.targeting import service
from interdict.targeting.schemas import (
    AssignBody,
    BatchRead,
    OutcomeBody,
    ProfileCreate,
    ProfileRead,
    ProfileUpdate,
    RecordRead,
    RejectionRead,
    SelectBody,
)

router = APIRouter(prefix="/api/v1/targeting", tags=["targeting"])


@router.get("/profiles", response_model=list[ProfileRead])
def list_profiles(db: SessionDep, subject: SubjectDep, settings: SettingsDep) -> list[ProfileRead]:
    """Risk profiles of your organisation, with hits, inspected hits, hit rate and the review flag."""
    return service.profiles_read(db, subject, settings, service.list_profiles(db, subject))


@router.post("/profiles", response_model=ProfileRead, status_code=201)
def create_profile(body: ProfileCreate, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> ProfileRead:
    """Criteria in the filter language over targeting fields; a weight (0-1) or a direct lane (analysts). The open
    loads are re-scored (a background job when they are large)."""
    now = utcnow()
    p = service.create_profile(db, subject, body, now=now)
    service.after_profile_change(db, subject, settings, now=now)
    return service.profiles_read(db, subject, settings, [p])[0]


@router.get("/profiles/{profile_id}", response_model=ProfileRead)
def get_profile(profile_id: uuid.UUID, db: SessionDep, subject: SubjectDep, settings: SettingsDep) -> ProfileRead:
    return service.profiles_read(db, subject, settings, [service.get_profile(db, subject, profile_id)])[0]


@router.patch("/profiles/{profile_id}", response_model=ProfileRead)
def update_profile(
    profile_id: uuid.UUID, body: ProfileUpdate, db: SessionDep, subject: WriterDep, settings: SettingsDep
) -> ProfileRead:
    """Change a profile (a new version is kept); the open loads are re-scored."""
    now = utcnow()
    p = service.update_profile(db, subject, profile_id, body, now=now)
    service.after_profile_change(db, subject, settings, now=now)
    return service.profiles_read(db, subject, settings, [p])[0]


@router.delete("/profiles/{profile_id}", status_code=204)
def delete_profile(profile_id: uuid.UUID, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> Response:
    service.delete_profile(db, subject, profile_id)
    db.flush()
    service.after_profile_change(db, subject, settings, now=utcnow())
    return Response(status_code=204)


@router.get("/batches", response_model=list[BatchRead])
def list_batches(db: SessionDep, subject: SubjectDep) -> list[BatchRead]:
    return [service.batch_read(db, b) for b in service.list_batches(db, subject)]


@router.post("/batches", response_model=JobRead, status_code=202)
def upload(
    response: Response,
    db: SessionDep,
    subject: WriterDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV, XLSX or JSON (checked by content), at most the upload limit")],
    mapping: Annotated[Line, Form(max_length=200, description="A shipped column mapping, e.g. generic-manifest")],
    batch_name: Annotated[OptLine, Form(max_length=200)] = None,
) -> JobRead:
    """Queue a manifest or declarations file for loading into a batch of your unit (a batch of the same name is
    reloaded: records upserted by id) and scoring. Answers 202 at once with the job (``Location``: its URL); poll
    ``GET /api/v1/jobs/{id}`` until its status is ``done`` (the result names the batch and its counts; the
    rejected rows are at ``/batches/{id}/rejections``) or ``failed`` (with the reason)."""
    job = service.queue_upload(
        db,
        subject,
        settings,
        filename=file.filename,
        stream=file.file,
        mapping=mapping,
        batch_name=batch_name,
    )
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job_read(settings, job)


@router.get("/batches/{batch_id}", response_model=BatchRead)
def get_batch(batch_id: uuid.UUID, db: SessionDep, subject: SubjectDep) -> BatchRead:
    return service.batch_read(db, service.get_batch(db, subject, batch_id))


@router.get("/batches/{batch_id}/rejections", response_model=list[RejectionRead])
def rejections(batch_id: uuid.UUID, db: SessionDep, subject: SubjectDep) -> list[RejectionRead]:
    """Every rejected row of the batch's latest load: row number, record id, field, column and reason."""
    return [RejectionRead.model_validate(r) for r in service.rejections(db, subject, batch_id)]


@router.get("/batches/{batch_id}/records", response_model=list[RecordRead])
def worklist(
    batch_id: uuid.UUID,
    response: Response,
    db: SessionDep,
    subject: SubjectDep,
    lane: str | None = None,
    hs: str | None = None,
    origin: str | None = None,
    party: str | None = None,
    text: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Records per page.")] = 500,
    offset: Annotated[int, Query(ge=0, description="Records to skip (the page's start).")] = 0,
) -> list[RecordRead]:
    """The load's records ranked by score (records not scored yet last), with the reasons you may see; one page
    of ``limit`` records from ``offset``, the number of all matching records in the ``X-Total-Count`` header."""
    batch = service.get_batch(db, subject, batch_id)
    filters: service.WorklistFilters = {"lane": lane, "hs": hs, "origin": origin, "party": party, "text": text}
    response.headers["X-Total-Count"] = str(service.worklist_total(db, subject, batch, **filters))
    rows = service.worklist(db, subject, batch, **filters, limit=limit, offset=offset)
    return service.records_read(db, subject, rows)


@router.post("/batches/{batch_id}/select")
def select(
    batch_id: uuid.UUID, body: SelectBody, db: SessionDep, subject: WriterDep, settings: SettingsDep
) -> dict[str, int]:
    """Select records for inspection within the unit's capacity per load (422 beyond it)."""
    return {"selected": service.select_records(db, subject, settings, batch_id, body.record_ids, now=utcnow())}


@router.post("/records/{record_id}/outcome", response_model=RecordRead)
def outcome(record_id: uuid.UUID, body: OutcomeBody, db: SessionDep, subject: WriterDep) -> RecordRead:
    rec = service.record_outcome(db, subject, record_id, body, now=utcnow())
    return service.records_read(db, subject, [rec])[0]


@router.post("/records/{record_id}/assign", response_model=RecordRead)
def assign(record_id: uuid.UUID, body: AssignBody, db: SessionDep, subject: WriterDep) -> RecordRead:
    """Assign a selected record to an officer of the loading unit (by username)."""
    rec = service.assign(db, subject, record_id, body.username)
    return service.records_read(db, subject, [rec])[0]


@router.get("/performance")
def performance(db: SessionDep, subject: SubjectDep, settings: SettingsDep) -> dict[str, Any]:
    """Hit rates of risk-selected vs random inspections per month, precision at the unit's capacity, and the
    risk profiles with their hit rates and review flags."""
    perf = service.performance(db, subject, settings)
    return {
        "capacity": perf.capacity,
        "precision_at_capacity": perf.precision_at_capacity,
        "top_inspected": perf.top_inspected,
        "top_hits": perf.top_hits,
        "months": [{**asdict(m), "risk_rate": m.risk_rate, "random_rate": m.random_rate} for m in perf.months],
        "profiles": [
            p.model_dump(mode="json")
            for p in service.profiles_read(db, subject, settings, service.list_profiles(db, subject))
        ],
    }
