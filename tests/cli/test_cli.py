"""The command line as an administrator runs it (real subprocesses on a scratch SQLite data directory)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from interdict.incidents.models import Incident

PG_BACKEND = "postgresql" in os.environ.get("INTERDICT_TEST_BACKENDS", "sqlite,postgresql")


def run(
    args: list[str], data_dir: Path, *, stdin: str | None = None, db_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INTERDICT_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    if db_url:
        env["INTERDICT_DATABASE_URL"] = db_url
    else:
        env.pop("INTERDICT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "interdict", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    r = run(["demo", "--no-serve", "--incidents", "120"], d)
    assert r.returncode == 0, r.stderr
    assert "demo data created: 123 incidents" in r.stderr  # 120 generated, and 3 the partners recorded this week
    assert "password:" in r.stderr and "http://127.0.0.1:8000" in r.stderr
    return d


def count(data_dir: Path, demo: bool | None = None) -> int:
    engine = create_engine(f"sqlite:///{data_dir / 'interdict.db'}")
    with Session(engine) as s:
        stmt = select(func.count()).select_from(Incident)
        if demo is not None:
            stmt = stmt.where(Incident.is_demo.is_(demo))
        n = s.scalar(stmt) or 0
    engine.dispose()
    return n


def test_demo_twice_does_not_duplicate(demo_dir: Path) -> None:
    assert count(demo_dir) == 123
    password = (demo_dir / "demo-credentials.txt").read_text().strip()
    r = run(["demo", "--no-serve"], demo_dir)
    assert r.returncode == 0 and "already present" in r.stderr and password in r.stderr
    assert count(demo_dir) == 123


def test_db_upgrade_is_idempotent(demo_dir: Path) -> None:
    r = run(["db", "upgrade"], demo_dir)
    assert r.returncode == 0 and "already up to date" in r.stdout


def test_export_import_round_trip_and_rejections(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    r = run(["export", "incidents", "--user", "admin", "--format", "csv", "--output", str(out)], demo_dir)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows and all(row["reference"] for row in rows)
    # Re-importing the same rows: Hai Phong's own are taken, the other units' are not Hai Phong's to keep;
    # nothing is written, exit code 1.
    before = count(demo_dir)
    r = run(["import", "incidents", str(out), "--user", "officer.hp"], demo_dir)
    assert r.returncode == 1 and "nothing was imported" in r.stderr
    assert "already used in your unit's numbering" in r.stderr and "is not in your unit's numbering" in r.stderr
    assert count(demo_dir) == before
    assert (tmp_path / "all.rejected.csv").exists()
    # Without references they are new incidents of the importing unit.
    fresh = tmp_path / "fresh.csv"
    with fresh.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[c for c in rows[0] if c not in ("reference", "owner_org")])
        writer.writeheader()
        for row in rows[:5]:
            writer.writerow({k: v for k, v in row.items() if k in writer.fieldnames})
    r = run(["import", "incidents", str(fresh), "--user", "officer.hp"], demo_dir)
    assert r.returncode == 0, r.stderr
    assert "imported 5 of 5 rows" in r.stdout
    assert count(demo_dir) == before + 5


def test_create_admin(demo_dir: Path) -> None:
    r = run(
        [
            "users",
            "create-admin",
            "--username",
            "root.admin",
            "--org",
            "NEWAG",
            "--org-name",
            "New Agency",
            "--country",
            "KH",
            "--password-stdin",
        ],
        demo_dir,
        stdin="a sufficiently long passphrase\n",
    )
    assert r.returncode == 0, r.stderr
    weak = run(
        ["users", "create-admin", "--username", "weak.admin", "--org", "NEWAG", "--password-stdin"],
        demo_dir,
        stdin="short\n",
    )
    assert weak.returncode == 1 and "password" in weak.stderr


def test_an_organisations_time_zone_is_shown_and_set(demo_dir: Path) -> None:
    shown = run(["users", "org-time-zone", "VNC-HP"], demo_dir)
    assert shown.returncode == 0 and shown.stdout.strip() == "Asia/Ho_Chi_Minh"  # the demo's units: Viet Nam's
    changed = run(["users", "org-time-zone", "VNC-HP", "Asia/Bangkok"], demo_dir)
    assert changed.returncode == 0, changed.stderr
    assert run(["users", "org-time-zone", "VNC-HP"], demo_dir).stdout.strip() == "Asia/Bangkok"
    bad = run(["users", "org-time-zone", "VNC-HP", "Asia/Saigonn"], demo_dir)
    assert bad.returncode == 1 and "time zone" in bad.stderr
    back = run(["users", "org-time-zone", "VNC-HP", "--country-default"], demo_dir)
    assert back.returncode == 0 and "Asia/Ho_Chi_Minh" in back.stdout
    assert run(["users", "org-time-zone", "NOPE"], demo_dir).returncode == 1


def test_reference_status(demo_dir: Path) -> None:
    r = run(["reference", "status"], demo_dir)
    assert r.returncode == 0 and "unlocode" in r.stdout and "hs2022" in r.stdout
