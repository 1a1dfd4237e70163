"""The job worker: takes queued jobs one at a time and runs each in its own transaction.

A job's work and its "done" mark commit together, so a job is either entirely done or, if it fails or its
process dies, nothing of it is saved. The handlers are the same service code the command line runs
(``targeting.service.run_load_job``, ``incidents.importexport.run_import_job``). The server runs the worker in a
thread (``INTERDICT_JOBS_WORKER``); ``interdict jobs run`` runs it as its own process; tests call :func:`drain`.
On start, and before each job, jobs left running by a process that died are marked failed (:func:`service.sweep`).
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from interdict.accounts.subject import Subject
from interdict.config import Settings
from interdict.core import worker
from interdict.core.clock import utcnow
from interdict.core.db import unit_of_work
from interdict.core.errors import DomainError, FieldError, InvalidInput
from interdict.core.i18n import N_
from interdict.jobs import service
from interdict.jobs.models import Job

log = logging.getLogger("interdict.jobs")

Handler = Callable[..., dict[str, Any]]
# kind -> "module:function"; each is called as handler(session, subject, settings, path=, params=, progress=, now=)
HANDLERS = {
    "targeting.load": "interdict.targeting.service:run_load_job",
    "targeting.rescore": "interdict.targeting.service:run_rescore_job",
    "incidents.import": "interdict.incidents.importexport:run_import_job",
}
FAILED = "an internal error stopped this job; nothing of it was saved. Try again, or tell your administrator."


def handler(kind: str) -> Handler:
    module, _, name = HANDLERS[kind].partition(":")
    fn: Handler = getattr(importlib.import_module(module), name)
    return fn


def message_of(exc: DomainError) -> str:
    """What the job page says: the reasons of a refused file, without the internal field paths."""
    if isinstance(exc, InvalidInput) and exc.errors:
        return "; ".join(e.msg for e in exc.errors[:20])
    return exc.message


def errors_of(exc: DomainError) -> list[dict[str, Any]]:
    if isinstance(exc, InvalidInput):
        return [{"field": e.path, "msg": e.msg} for e in exc.errors]
    return []


def run_next(factory: sessionmaker[Session], settings: Settings) -> int:
    """Run the oldest queued job, if any; returns 1 if one ran (done or failed), else 0."""
    with unit_of_work(factory) as session:
        service.sweep(session, settings, now=utcnow())
        job = service.claim(session, worker=service.this_worker(), now=utcnow())
        if job is None:
            return 0
        job_id, kind, key, params = job.id, job.kind, job.file_key, dict(job.params)
    reporter = service.Reporter(factory, settings, job_id)
    try:
        path = settings.jobs_dir / key if key else None
        if path is None or not path.is_file():
            raise InvalidInput(
                FieldError(
                    ("file",),
                    N_("the uploaded file is not on this server any more (it was cleaned up, or is on another host)"),
                )
            )
        with unit_of_work(factory) as session:
            current = session.get(Job, job_id)
            assert current is not None
            subject: Subject = service.job_subject(session, current)
            result = handler(kind)(
                session, subject, settings, path=Path(path), params=params, progress=reporter, now=utcnow()
            )
            service.finish(current, now=utcnow(), result=result)
            current.file_key = None
    except DomainError as exc:
        _fail(factory, job_id, message_of(exc), {"errors": errors_of(exc)})
    except Exception:
        log.exception("background job %s (%s) failed", job_id, kind)
        _fail(factory, job_id, FAILED, None)
    finally:
        reporter.close()
        service.remove_file(settings, key)
    return 1


def _fail(factory: sessionmaker[Session], job_id: Any, message: str, result: dict[str, Any] | None) -> None:
    with unit_of_work(factory) as session:
        job = session.get(Job, job_id)
        if job is not None:
            service.finish(job, now=utcnow(), result=result, error=message)
            job.file_key = None


def sweep(factory: sessionmaker[Session], settings: Settings) -> int:
    """Mark failed the jobs a dead process left running (at the server's start)."""
    with unit_of_work(factory) as session:
        return service.sweep(session, settings, now=utcnow())


def drain(factory: sessionmaker[Session], settings: Settings) -> int:
    """Run every queued job now, in this thread (tests and ``interdict jobs run --once``); returns how many ran."""
    n = 0
    while run_next(factory, settings):
        n += 1
    return n


def make_worker(factory: sessionmaker[Session], settings: Callable[[], Settings]) -> worker.Worker:
    """The worker thread; ``settings()`` is read for each job (the server's current settings)."""
    return worker.Worker(
        "jobs", None, lambda: run_next(factory, settings()), interval=settings().jobs_interval_seconds, batch=1
    )


def start_process(settings: Settings) -> subprocess.Popen[bytes]:
    """The job worker as a child process of the server (``interdict jobs run --parent <server pid>``, with the
    server's settings): the loads' CPU work runs beside the server's, not inside it (one Python interpreter runs one
    thread at a time), so requests are answered while a job runs. It stops when the server stops."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")}
    env.update(settings.as_environment())
    cmd = [sys.executable, "-m", "interdict", "jobs", "run", "--parent", str(os.getpid()), "--quiet"]
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)  # noqa: S603 - our own command line, no input


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop the child started by :func:`start_process` (a job it was running is marked failed at the next start)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
