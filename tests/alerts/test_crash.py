"""The server is killed (SIGKILL) in the middle of issuing a rapid alert — the alert written, its addressees'
notifications being written — and started again: nothing of the alert remains (no alert, no notification, no
delivery, no audit entry), the audit chain verifies, and issuing it again tells each addressee exactly once.
Real processes on a file SQLite database and on PostgreSQL (tests/faults.py)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.alerts.models import RapidAlert as Alert
from interdict.audit import service as audit
from interdict.audit.models import AuditEntry
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.notifications.models import Notification, NotificationDelivery
from tests.alerts.conftest import alert_body
from tests.conftest import BACKENDS, PASSWORD, prepared_database
from tests.faults import SECRET, kill, kill_during, start_server
from tests.notifications.conftest import free_port

UNITS = {"VNC-HP": ["officer.hp", "officer2.hp"], "VNC-HCM": ["officer.hcm", "officer2.hcm"]}


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from prepared_database(request.param, tmp_path)


def _setup(database: str) -> str:
    """Vietnam Customs with two addressed units of two officers each; returns the issuing analyst's token."""
    engine = make_engine(database)
    with unit_of_work(make_sessionmaker(engine)) as s:
        accounts.create_organisation(
            s, OrganisationCreate(code="VNC", name="Vietnam Customs", kind="agency", country="VN")
        )
        for code in UNITS:
            accounts.create_organisation(
                s, OrganisationCreate(code=code, name=code, kind="provincial_unit", country="VN", parent_code="VNC")
            )
            for username in UNITS[code]:
                accounts.create_user(
                    s,
                    UserCreate(username=username, full_name=username, role="officer", org_code=code, password=PASSWORD),
                )
        analyst = accounts.create_user(
            s, UserCreate(username="analyst", full_name="Analyst", role="analyst", org_code="VNC", password=PASSWORD)
        )
        token, _ = accounts.create_api_token(s, analyst, TokenCreate(name="t", scopes=["read", "write"]), pepper=SECRET)
    engine.dispose()
    return token


def _counts(database: str) -> dict[str, int]:
    engine = make_engine(database)
    with unit_of_work(make_sessionmaker(engine)) as s:
        counts = {
            "alerts": s.scalar(select(func.count()).select_from(Alert)) or 0,
            "notifications": s.scalar(select(func.count()).select_from(Notification)) or 0,
            "deliveries": s.scalar(select(func.count()).select_from(NotificationDelivery)) or 0,
            "alert audit entries": s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("alert.%"))
            )
            or 0,
        }
        assert audit.verify(s).intact  # the chain holds: no entry half-written
    engine.dispose()
    return counts


def test_a_server_killed_while_issuing_an_alert_leaves_nothing_and_the_retry_tells_everyone_once(
    database: str, tmp_path: Path
) -> None:
    token = _setup(database)
    api = {"Authorization": f"Bearer {token}"}
    data_dir, marker, port = tmp_path / "data", tmp_path / "paused", free_port()
    body = alert_body(addressees=list(UNITS), urgency="immediate")
    proc = start_server(database, data_dir, port, pause="INSERT INTO notifications", marker=marker)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/alerts"
        paused_at = kill_during(proc, marker, lambda: httpx.post(url, json=body, headers=api, timeout=60))
        assert paused_at.upper().startswith("INSERT INTO NOTIFICATIONS")
        assert _counts(database) == {"alerts": 0, "notifications": 0, "deliveries": 0, "alert audit entries": 0}

        proc = start_server(database, data_dir, port)
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/alerts", json=body, headers=api, timeout=60)
        assert r.status_code == 201, r.text
        assert r.json()["reference"].endswith("-000001")  # the killed issue used no number
        counts = _counts(database)
        assert counts["alerts"] == 1 and counts["notifications"] == 4  # each of the four officers, once
    finally:
        kill(proc, signal.SIGTERM)
