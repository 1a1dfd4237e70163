"""`interdict notices tick` as an operator runs it from cron (a real subprocess on the test database)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import World
from tests.notices.conftest import notice_body


def _tick(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INTERDICT_DATABASE_URL": database_url, "INTERDICT_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "interdict", "notices", "tick", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_tick_from_the_command_line_reports_overdue_units_once(
    client: TestClient, world: World, database_url: str, tmp_path: Path
) -> None:
    deadline = date.today() + timedelta(days=3)
    h = world.h("analyst")
    n = client.post("/api/v1/notices", json=notice_body(report_deadline=deadline.isoformat()), headers=h).json()
    n = client.post(f"/api/v1/notices/{n['id']}/submit", json={"version": n["version"]}, headers=h).json()
    n = client.post(
        f"/api/v1/notices/{n['id']}/approve", json={"version": n["version"]}, headers=world.h("admin")
    ).json()
    assert client.post(f"/api/v1/notices/{n['id']}/issue", json={"version": n["version"]}, headers=h).status_code == 200

    late = (deadline + timedelta(days=1)).isoformat() + "T08:00:00"
    first = _tick(database_url, tmp_path, "--now", late)
    assert first.returncode == 0, first.stderr
    assert "2 unit(s) newly overdue" in first.stdout
    again = _tick(database_url, tmp_path, "--now", late)
    assert "0 unit(s) newly overdue" in again.stdout
    bad = _tick(database_url, tmp_path, "--now", "next tuesday")
    assert bad.returncode == 2 and "--now" in bad.stderr
