"""Background jobs in the API: an upload answers 202 with its job; poll the job until it is done or failed."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from interdict.accounts.deps import SubjectDep
from interdict.config import Settings
from interdict.core.deps import SessionDep, SettingsDep
from interdict.jobs import service
from interdict.jobs.models import Job
from interdict.jobs.schemas import JobProgress, JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def job_read(settings: Settings, job: Job) -> JobRead:
    p = service.shown_progress(settings, job)
    return JobRead(
        id=job.id,
        kind=job.kind,
        status=job.status,
        filename=job.filename,
        progress=JobProgress(stage=p.stage, done=p.done, total=p.total),
        result=job.result,
        error=job.error,
        url=f"/api/v1/jobs/{job.id}",
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.get("/{job_id}", response_model=JobRead)
def get_job(job_id: uuid.UUID, db: SessionDep, subject: SubjectDep, settings: SettingsDep) -> JobRead:
    """A job you queued (or, for administrators, one queued in your unit): status, progress, then the result."""
    return job_read(settings, service.get_job(db, subject, job_id))
