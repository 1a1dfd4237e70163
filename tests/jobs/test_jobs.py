"""Uploads are background jobs (issue 16, "unbounded spreadsheet work in a request"): the targeting upload and the
incident import answer at once with a job, the job worker does the work in its own transaction, the job's page
shows the progress and then the result, only the owner and the owner unit's administrators see a job, other users'
requests are served while a job runs, and a job left running by a server that died is marked failed when the
server starts again, with nothing of it saved."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from interdict.accounts import service as accounts
from interdict.accounts.schemas import TokenCreate, UserCreate
from interdict.app import create_app
from interdict.incidents.models import Incident
from interdict.jobs import service as jobs_service
from interdict.jobs import tasks
from interdict.jobs.models import Job
from interdict.targeting.models import TargetingBatch
from tests.conftest import PASSWORD, World, run_jobs
from tests.targeting.workflow_data import HEADER, row
from tests.web.test_pages import login

IMPORT_HEADER = ["incident_type", "incident_date", "country", "locode", "containers", "goods_description"]
GOOD = ["seizure", "2026-01-02", "VN", "VNHPH", "CSQU3054383", "furniture"]
BAD = ["seizure", "2026-01-02", "VN", "VNHPH", "CSQU3054384", "furniture"]  # wrong check digit


def incidents_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(IMPORT_HEADER)
        w.writerows(rows)
    return path


def manifest_csv(path: Path, n: int, prefix: str = "J") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        for i in range(n):
            w.writerow(row(f"{prefix}{i}", containers="MSCU1234566"))
    return path


def api_import(client: TestClient, world: World, path: Path, user: str = "officer.hp", **form: str) -> Any:
    with path.open("rb") as fh:
        return client.post(
            "/api/v1/incidents/import", data=form, files={"file": (path.name, fh, "text/csv")}, headers=world.h(user)
        )


def unit_admin(world: World) -> str:
    """An administrator of Hai Phong Customs (the unit of officer.hp), with an API token; returns the username."""
    name = f"admin.hp.{uuid.uuid4().hex[:6]}"
    with world.session() as s:
        user = accounts.create_user(
            s, UserCreate(username=name, full_name="HP Admin", role="admin", org_code="VNC-HP", password=PASSWORD)
        )
        token, _ = accounts.create_api_token(
            s,
            user,
            TokenCreate(name="tests", scopes=["read", "write", "admin"]),  # type: ignore[list-item]
            pepper=world.app.state.pepper,
        )
    world.tokens[name] = token
    return name


def test_incident_import_through_the_api_is_a_job_its_owner_and_unit_admins_follow(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    r = api_import(client, world, incidents_csv(tmp_path / "in.csv", [GOOD, GOOD]))
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == job["url"] == f"/api/v1/jobs/{job['id']}"
    assert (job["kind"], job["status"], job["filename"]) == ("incidents.import", "queued", "in.csv")
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 0  # nothing yet

    assert run_jobs(world.app) == 1
    done = client.get(job["url"], headers=world.h("officer.hp")).json()
    assert done["status"] == "done" and done["error"] is None and done["finished_at"]
    assert {k: done["result"][k] for k in ("rows", "imported", "rejected")} == {"rows": 2, "imported": 2, "rejected": 0}
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 2
    # The owner's unit's administrator follows it; anyone else (same unit, another unit's admin) gets 404.
    assert client.get(job["url"], headers=world.h(unit_admin(world))).status_code == 200
    for other in ("officer2.hp", "admin", "officer.kh"):
        assert client.get(job["url"], headers=world.h(other)).status_code == 404, other
    assert client.get(job["url"]).status_code == 401

    # Any rejected row: nothing imported, each rejected line with its reason in the result.
    r = api_import(client, world, incidents_csv(tmp_path / "bad.csv", [GOOD, BAD]))
    run_jobs(world.app)
    result = client.get(r.headers["location"], headers=world.h("officer.hp")).json()["result"]
    assert (result["rows"], result["imported"], result["written"]) == (2, 0, False)
    assert result["rejected_rows"] == [
        {
            "line": 3,
            "errors": [{"field": "containers", "msg": "container 'CSQU3054384' has a wrong check digit (expected 3)"}],
        }
    ]
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 2

    # Refused at once (nothing queued): a viewer, a binary file, a workbook that is not a zip.
    assert api_import(client, world, tmp_path / "in.csv", user="viewer.hp").status_code == 403
    binary = tmp_path / "evil.csv"
    binary.write_bytes(b"incident_type\x00\x01\x02")
    r = api_import(client, world, binary)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "file" and "NUL" in r.text
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"incident_type,incident_date\n")
    r = api_import(client, world, fake)
    assert r.status_code == 422 and "not an Excel workbook" in r.text
    assert run_jobs(world.app) == 0


def test_a_file_breaking_a_bound_fails_its_job_with_the_reason_and_nothing_written(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    settings = world.app.state.settings
    world.app.state.settings = settings.model_copy(update={"import_max_rows": 2, "targeting_max_upload_rows": 3})
    try:
        r = api_import(client, world, incidents_csv(tmp_path / "in.csv", [GOOD, GOOD, GOOD]))
        assert r.status_code == 202
        token = login(client)
        with manifest_csv(tmp_path / "m.csv", 4).open("rb") as fh:
            page = client.post(
                "/targeting/upload",
                data={"csrf_token": token, "mapping": "generic-manifest", "batch_name": "TOO BIG"},
                files={"file": ("m.csv", fh, "text/csv")},
                follow_redirects=False,
            )
        assert page.status_code == 303
        assert run_jobs(world.app) == 2
    finally:
        world.app.state.settings = settings
    job = client.get(r.headers["location"], headers=world.h("officer.hp")).json()
    assert job["status"] == "failed"
    assert job["error"] == "in.csv: more than 2 rows; the limit for incident imports is 2 rows"
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 0
    shown = client.get(page.headers["location"])
    assert 'data-status="failed"' in shown.text and "nothing of it was saved" in shown.text
    assert "m.csv: more than 3 rows; the limit for targeting loads is 3 rows" in shown.text
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(TargetingBatch)) == 0


def test_the_import_page_queues_the_file_and_the_job_page_shows_progress_then_the_report(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    token = login(client)
    form = client.get("/incidents/import")
    assert form.status_code == 200 and 'id="i-file"' in form.text
    with incidents_csv(tmp_path / "in.csv", [GOOD, BAD, GOOD]).open("rb") as fh:
        r = client.post(
            "/incidents/import",
            data={"csrf_token": token, "skip_invalid": "on"},
            files={"file": ("in.csv", fh, "text/csv")},
            follow_redirects=False,
        )
    assert r.status_code == 303 and re.fullmatch(r"/jobs/[0-9a-f-]{36}", r.headers["location"])
    waiting = client.get(r.headers["location"])
    assert 'data-status="queued"' in waiting.text and "Waiting for its turn" in waiting.text
    assert '<meta http-equiv="refresh" content="2">' in waiting.text  # it follows itself, without script
    assert "script-src 'self'" in waiting.headers["content-security-policy"]
    run_jobs(world.app)
    page = client.get(r.headers["location"])
    assert 'data-status="done"' in page.text and 'http-equiv="refresh"' not in page.text
    assert "Imported 2 of 3 rows; 1 rejected." in page.text
    assert "containers: container &#39;CSQU3054384&#39; has a wrong check digit (expected 3)" in page.text
    assert client.get("/api/v1/incidents", headers=world.h("officer.hp")).json()["total"] == 2
    # In Vietnamese too.
    client.get("/lang/vi?next=/dashboard")
    assert "Đã nhập 2 trong 3 dòng; 1 dòng bị từ chối." in client.get(r.headers["location"]).text
    client.get("/lang/en?next=/dashboard")
    # A refused file stays on the form, next to its field.
    binary = tmp_path / "evil.csv"
    binary.write_bytes(b"\x00\x01")
    with binary.open("rb") as fh:
        r = client.post("/incidents/import", data={"csrf_token": token}, files={"file": ("evil.csv", fh, "text/csv")})
    assert r.status_code == 422 and "NUL bytes" in r.text and 'id="i-file"' in r.text


def test_other_users_are_served_while_a_big_load_runs(client: TestClient, world: World, tmp_path: Path) -> None:
    """The load runs in the job worker's thread, not in the request: another user's search is answered while it
    runs (before the fix, the upload request itself did all the work and held the server)."""
    app = world.app
    worker = tasks.make_worker(app.state.sessionmaker, lambda: app.state.settings)
    path = manifest_csv(tmp_path / "big.csv", 5_000)
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/targeting/batches",
            data={"mapping": "generic-manifest", "batch_name": "BIG"},
            files={"file": ("big.csv", fh, "text/csv")},
            headers=world.h("officer.hp"),
        )
    assert r.status_code == 202
    url = r.headers["location"]
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while client.get(url, headers=world.h("officer.hp")).json()["status"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        running = client.get(url, headers=world.h("officer.hp")).json()
        search = client.get("/api/v1/incidents", params={"q": "furniture"}, headers=world.h("officer.kh"))
        after = client.get(url, headers=world.h("officer.hp")).json()
        assert search.status_code == 200 and "items" in search.json()
        assert running["status"] == "running" and after["status"] == "running", (running, after)  # answered meanwhile
        while client.get(url, headers=world.h("officer.hp")).json()["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.25)
    finally:
        worker.stop()
    done = client.get(url, headers=world.h("officer.hp")).json()
    assert done["status"] == "done", done
    assert (done["result"]["rows"], done["result"]["loaded"]) == (5_000, 5_000)


def test_a_job_left_running_by_a_dead_server_is_marked_failed_on_restart(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    """A job worker process (`interdict jobs run`) is killed in the middle of a load; the next start of a server
    marks the job failed with a clear message, and nothing of the load was saved."""
    app = world.app
    settings = app.state.settings
    path = manifest_csv(tmp_path / "crash.csv", 5_000, prefix="C")
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/targeting/batches",
            data={"mapping": "generic-manifest", "batch_name": "CRASH"},
            files={"file": ("crash.csv", fh, "text/csv")},
            headers=world.h("officer.hp"),
        )
    job_id = uuid.UUID(r.json()["id"])
    env = {
        **os.environ,
        "INTERDICT_DATABASE_URL": settings.effective_database_url,
        "INTERDICT_DATA_DIR": str(settings.data_dir),
        "INTERDICT_SECRET_KEY": "test-secret-key",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "interdict", "jobs", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with world.session() as s:
                job = s.get(Job, job_id)
                assert job is not None
                if job.status == "running":
                    break
                assert job.status == "queued" and proc.poll() is None, (job.status, proc.poll())
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # into the load
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with world.session() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.status == "running"  # as the dead process left it

    # The server starts again: the job is failed, its file removed, and nothing of the load exists.
    restarted = create_app(
        settings.model_copy(
            update={
                "jobs_worker": False,
                "linkage_worker": False,
                "watch_worker": False,
                "notices_worker": False,
                "alerts_worker": False,
                "delivery_worker": False,
            }
        )
    )
    try:
        with TestClient(restarted):
            pass
    finally:
        restarted.state.engine.dispose()
    job_read = client.get(r.headers["location"], headers=world.h("officer.hp")).json()
    assert job_read["status"] == "failed" and job_read["error"] == jobs_service.CRASHED
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(TargetingBatch)) == 0
        assert s.scalar(select(func.count()).select_from(Incident)) == 0
    assert not list(settings.jobs_dir.glob(f"{job_id}.*"))
    assert run_jobs(app) == 0  # not re-run


def test_progress_is_seen_while_a_job_runs(client: TestClient, world: World, tmp_path: Path) -> None:
    """The job page and the API show the stage and the count as the load goes (through the process's own record
    of it, and on PostgreSQL through the job row as well)."""
    seen: list[tuple[str | None, int, int | None]] = []
    path = manifest_csv(tmp_path / "p.csv", 2_000, prefix="P")
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/targeting/batches",
            data={"mapping": "generic-manifest"},
            files={"file": ("p.csv", fh, "text/csv")},
            headers=world.h("officer.hp"),
        )
    url = r.headers["location"]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            p = client.get(url, headers=world.h("officer.hp")).json()["progress"]
            if p["stage"]:
                seen.append((p["stage"], p["done"], p["total"]))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run_jobs(world.app)
    finally:
        stop.set()
        watcher.join()
    stages = [s for s, _, _ in seen]
    assert "reading" in stages or "saving" in stages, seen
    assert any(total == 2_000 for _, _, total in seen), seen
    final = client.get(url, headers=world.h("officer.hp")).json()["progress"]
    assert final == {"stage": "done", "done": final["done"], "total": final["total"]}
