"""An import killed (SIGKILL) after some of its batches were written leaves nothing: the file is imported in one
transaction. Run again, it imports every row once. The real `interdict import incidents` process, on a file
SQLite database and on PostgreSQL (tests/faults.py)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, UserCreate
from interdict.audit import service as audit
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.incidents.models import Incident, IncidentVersion, ReferenceCounter
from tests.conftest import BACKENDS, PASSWORD, prepared_database
from tests.faults import kill_during, run_cli

ROWS = 2500  # three batches of the import (BATCH = 1000)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from prepared_database(request.param, tmp_path)


def _counts(database: str) -> tuple[int, int]:
    engine = make_engine(database)
    with unit_of_work(make_sessionmaker(engine)) as s:
        counts = (
            s.scalar(select(func.count()).select_from(Incident)) or 0,
            s.scalar(select(func.count()).select_from(IncidentVersion)) or 0,
        )
        assert s.scalar(select(func.count()).select_from(ReferenceCounter)) in (0, 1)
        assert audit.verify(s).intact
    engine.dispose()
    return counts


def test_an_import_killed_midway_writes_nothing_and_the_rerun_imports_every_row_once(
    database: str, tmp_path: Path
) -> None:
    engine = make_engine(database)
    with unit_of_work(make_sessionmaker(engine)) as s:
        accounts.create_organisation(
            s, OrganisationCreate(code="VNC", name="Vietnam Customs", kind="agency", country="VN")
        )
        accounts.create_user(
            s,
            UserCreate(username="officer.vnc", full_name="Officer", role="officer", org_code="VNC", password=PASSWORD),
        )
    engine.dispose()
    path = tmp_path / "historic.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["incident_type", "incident_date", "country", "locode", "party_1_role", "party_1_name", "status"])
        for n in range(ROWS):
            w.writerow(["seizure", "2025-06-01", "VN", "VNHPH", "consignee", f"Công ty số {n}", "submitted"])
    data_dir, marker = tmp_path / "data", tmp_path / "paused"
    args = ["import", "incidents", str(path), "--user", "officer.vnc"]

    log = tmp_path / "import.log"
    proc = run_cli(
        database, data_dir, args, output=log, pause="bulk insert into incident_versions", marker=marker, after=2
    )
    paused_at = kill_during(proc, marker, lambda: proc.wait(180))
    assert "(1000 rows)" in paused_at  # the first batch was written, the second being written
    assert _counts(database) == (0, 0)

    rerun = run_cli(database, data_dir, args, output=log)
    assert rerun.wait(300) == 0, log.read_text(encoding="utf-8")
    assert _counts(database) == (ROWS, ROWS)
