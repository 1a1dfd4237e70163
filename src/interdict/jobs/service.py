"""Background jobs: queue an upload's work, read a job (its owner and the owner unit's administrators), claim and
finish jobs (the worker), and mark as failed the jobs a dead process left running.

Access (one predicate, :func:`job_visible`): a job is the business of the user who queued it; the administrators
of that user's unit may follow it too. Anyone else gets 404. Services never commit.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from interdict.accounts.models import User
from interdict.accounts.service import subject_for_user
from interdict.accounts.subject import Subject
from interdict.config import Settings
from interdict.core.clock import utcnow
from interdict.core.db import new_id, unit_of_work
from interdict.core.errors import NotFound, PayloadTooLarge
from interdict.core.i18n import N_
from interdict.core.spreadsheet.reader import size
from interdict.jobs.models import Job
from interdict.sharing.service import decided

log = logging.getLogger("interdict.jobs")

CRASHED = "the server stopped while this job was running; nothing of it was saved. Upload the file again."
CHUNK = 1024 * 1024
ORPHAN_AGE = 24 * 3600  # seconds


# --- which process runs a job ------------------------------------------------------------------------------

_TOKEN = uuid.uuid4().hex[:12]  # this process's start: a restarted server may get the same process id again


def this_worker() -> str:
    return f"{socket.gethostname()[:150]}:{os.getpid()}:{_TOKEN}"


def _alive(worker: str | None, here: str) -> bool | None:
    """Whether the process named ``worker`` still runs: True/False for a process of this host, None (unknown)
    for another host's."""
    if not worker:
        return False
    parts = worker.rsplit(":", 2)
    if len(parts) != 3:
        return False
    host, pid_text, token = parts
    my_host = here.rsplit(":", 2)[0]
    if host != my_host:
        return None
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return token == _TOKEN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user has that id now: not ours any more
        return False
    return True


# --- progress, seen by every process of this host at once and by others through the database ---------------


@dataclass
class Progress:
    stage: str | None = None
    done: int = 0
    total: int | None = None


def _progress_file(settings: Settings, job_id: uuid.UUID) -> Path:
    return settings.jobs_dir / f"{job_id}.progress"


def read_progress(settings: Settings, job_id: uuid.UUID) -> Progress | None:
    """What the running job last reported in its progress file (None when there is none)."""
    try:
        raw = json.loads(_progress_file(settings, job_id).read_text(encoding="utf-8"))
        total = raw.get("total")
        return Progress(str(raw["stage"]), int(raw["done"]), int(total) if total is not None else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Reporter:
    """What a running job calls as it goes: ``reporter(stage, done, total)``. Written to a small file beside the
    upload (at most every ``every`` seconds, and at each new stage), which the pages of every server process of
    the host read; and to the job row (own short transaction, at most every ``row_every`` seconds, with the
    heartbeat) where the database lets a second writer in while the job's own transaction is open (PostgreSQL;
    SQLite has one writer)."""

    def __init__(
        self,
        factory: sessionmaker[Session] | None,
        settings: Settings,
        job_id: uuid.UUID,
        *,
        every: float = 0.5,
        row_every: float = 2.0,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.job_id = job_id
        self.every = every
        self.row_every = row_every
        self._stage: str | None = None
        self._last_file = 0.0
        self._last_row = 0.0
        bind = factory.kw.get("bind") if factory is not None else None
        self._write_row = bind is not None and bind.dialect.name == "postgresql"

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if stage != self._stage or now - self._last_file >= self.every:
            self._stage, self._last_file = stage, now
            path = _progress_file(self.settings, self.job_id)
            tmp = path.with_suffix(".progress-tmp")
            try:
                tmp.write_text(json.dumps({"stage": stage, "done": done, "total": total}), encoding="utf-8")
                os.replace(tmp, path)
            except OSError:
                log.warning("could not write the progress of job %s", self.job_id, exc_info=True)
        if not self._write_row or self.factory is None or now - self._last_row < self.row_every:
            return
        self._last_row = now
        try:
            with unit_of_work(self.factory) as session:
                job = session.get(Job, self.job_id)
                if job is not None:
                    job.stage, job.progress_done, job.progress_total = stage, done, total
                    job.heartbeat_at = utcnow()
        except Exception:  # progress is a courtesy: never let it stop the job
            log.warning("could not record the progress of job %s", self.job_id, exc_info=True)

    def close(self) -> None:
        _progress_file(self.settings, self.job_id).unlink(missing_ok=True)


# --- access ------------------------------------------------------------------------------------------------


def job_visible(subject: Subject) -> ColumnElement[bool]:
    """THE read predicate of jobs: the user who queued it, or an administrator of that user's unit."""
    decided("jobs:read")
    if subject.is_admin:
        return or_(Job.owner_user_id == subject.user_id, Job.owner_org_id == subject.org_id)
    return Job.owner_user_id == subject.user_id


def get_job(session: Session, subject: Subject, job_id: uuid.UUID | str) -> Job:
    try:
        jid = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound(N_("no such job")) from None
    job = session.scalar(select(Job).where(Job.id == jid, job_visible(subject)))
    if job is None:
        raise NotFound(N_("no such job"))
    return job


def shown_progress(settings: Settings, job: Job) -> Progress:
    """The freshest progress known: the running job's progress file if this host has it, else the row's."""
    if job.status == "running":
        live = read_progress(settings, job.id)
        if live is not None:
            return live
    return Progress(job.stage, job.progress_done, job.progress_total)


# --- queueing ----------------------------------------------------------------------------------------------


def store_upload(stream: BinaryIO, target: Path, limit: int, *, head: bytes = b"") -> int:
    """Copy an upload to ``target`` a megabyte at a time, refusing it past ``limit`` bytes (the partial copy is
    removed). ``head``: bytes already read from the stream. Returns the size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with target.open("wb") as out:
            chunk = head
            while True:
                if chunk:
                    written += len(chunk)
                    if written > limit:
                        raise PayloadTooLarge(N_("the file is larger than the limit of %(size)s", size=size(limit)))
                    out.write(chunk)
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
        target.chmod(0o600)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return written


def enqueue(
    session: Session,
    subject: Subject,
    settings: Settings,
    *,
    kind: str,
    filename: str,
    suffix: str,
    params: dict[str, Any],
    write: Callable[[Path], object],
) -> Job:
    """Queue a job of ``kind`` for ``subject`` on a file written by ``write(path)`` under the jobs directory."""
    job = Job(
        id=new_id(),
        kind=kind,
        owner_user_id=subject.user_id,
        owner_org_id=subject.org_id,
        channel=subject.channel,
        scopes=sorted(subject.scopes),
        ip=subject.ip,
        params=params,
        filename=filename[:255],
        status="queued",
        progress_done=0,
        created_at=utcnow(),
    )
    key = f"{job.id}.{suffix}"
    write(settings.jobs_dir / key)
    job.file_key = key
    session.add(job)
    session.flush()
    return job


# --- running -----------------------------------------------------------------------------------------------


def claim(session: Session, *, worker: str, now: datetime) -> Job | None:
    """The oldest queued job, marked running by ``worker`` (one process takes each: SKIP LOCKED)."""
    stmt = select(Job).where(Job.status == "queued").order_by(Job.created_at, Job.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    job = session.scalar(stmt)
    if job is None:
        return None
    job.status, job.worker, job.started_at, job.heartbeat_at = "running", worker, now, now
    job.stage, job.progress_done, job.progress_total = None, 0, None
    return job


def job_subject(session: Session, job: Job) -> Subject:
    """The user who queued the job, as the request saw them (channel, token scopes, address)."""
    user = session.get(User, job.owner_user_id)
    if user is None or not user.is_active:
        raise NotFound(N_("the account that queued this job is no longer active"))
    channel = job.channel if job.channel in ("web", "api", "cli", "system") else "web"
    return subject_for_user(session, user, channel=channel, scopes=frozenset(job.scopes), ip=job.ip)  # type: ignore[arg-type]


def finish(job: Job, *, now: datetime, result: dict[str, Any] | None = None, error: str | None = None) -> None:
    job.status = "failed" if error is not None else "done"
    job.result = result
    job.error = error
    job.finished_at = now
    if error is None:
        job.stage = "done"
        if job.progress_total is not None:
            job.progress_done = job.progress_total


def remove_file(settings: Settings, key: str | None) -> None:
    if key and "/" not in key and "\\" not in key:
        (settings.jobs_dir / key).unlink(missing_ok=True)
        (settings.jobs_dir / f"{key.split('.', 1)[0]}.progress").unlink(missing_ok=True)


def sweep(session: Session, settings: Settings, *, now: datetime) -> int:
    """Mark failed the running jobs whose process is gone: a process of this host that no longer runs (or this
    process before a restart), or another host's job whose progress has not moved for ``jobs_lease_minutes``.
    Nothing of such a job was saved (its work is one transaction, rolled back with the process). Returns how
    many were marked."""
    here = this_worker()
    lease = timedelta(minutes=settings.jobs_lease_minutes)
    n = 0
    for job in session.scalars(select(Job).where(Job.status == "running")):
        alive = _alive(job.worker, here)
        stale = job.heartbeat_at is None or now - job.heartbeat_at > lease
        if alive is False or (alive is None and stale):
            finish(job, now=now, error=CRASHED)
            remove_file(settings, job.file_key)
            job.file_key = None
            n += 1
    if n:
        log.warning("marked %d background job(s) failed: their server process stopped while they ran", n)
    _remove_orphans(session, settings, now=now)
    return n


def _remove_orphans(session: Session, settings: Settings, *, now: datetime) -> None:
    """Files of the jobs directory older than a day that no waiting or running job needs (an upload whose request
    failed after the file was stored)."""
    try:
        old = [
            p for p in settings.jobs_dir.iterdir() if p.is_file() and now.timestamp() - p.stat().st_mtime > ORPHAN_AGE
        ]
    except OSError:
        return
    if not old:
        return
    keys = session.scalars(select(Job.file_key).where(Job.status.in_(("queued", "running"))))
    needed = {k.split(".", 1)[0] for k in keys if k}
    for p in old:
        if p.name.split(".", 1)[0] not in needed:
            p.unlink(missing_ok=True)
